"""The apply gate's judgement of an approved pull request: the reach of an approved audience,
estimated by the real local platform over seeded profiles, may not grow beyond the policy's
factor by apply time; and the approval rules on commit identities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaign_gitops.approval.at_apply import reach_grew
from campaign_gitops.approval.reviews import contributors
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.config import RawConfig, Settings
from campaign_gitops.embedded.synthetic import generate
from campaign_gitops.plan import Create, Plan
from campaign_gitops.refusals import Refusal

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def _spec(tiers: list[str]) -> dict[str, Any]:
    return {
        "name": "Sale", "channel": "push",
        "who": {"segment": {"user_properties": [
            {"name": "Customer Type", "op": "in", "value": tiers}]}},
        "what": {"content": {"title": "Sale", "body": "Today"}},
        "when": {"delivery": "on_date_time", "start": "2027-03-01T09:00:00Z"},
    }  # fmt: skip


def _plan(tiers: list[str]) -> Plan:
    change = Create("sale", publish=True, review=("publishes a new campaign",))
    return Plan(at=T0, changes=[change], specs={"sale": _spec(tiers)})


def test_an_audience_that_grew_since_its_approval_needs_a_new_one(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "platform.db")
    generate(backend.profiles_path(), 5000, 1, T0)
    settings = Settings(tmp_path, None, RawConfig())
    approved = _plan(["Platinum"])
    same = reach_grew(backend, settings, approved, _plan(["Platinum"]), T0, T0)
    assert same is None
    wider = reach_grew(backend, settings, approved, _plan(["Platinum", "Gold", "Silver"]), T0, T0)
    assert wider is not None and wider.kind == Refusal.REACH_GREW
    assert "grew beyond 1.2x since the approval" in str(wider)
    assert "  create campaign sale: reach ≈" in str(wider)
    [item] = wider.items
    assert item.startswith("create campaign sale: reach ≈")
    loose = Settings(tmp_path, None, RawConfig.model_validate({"approval": {
        "max_reach_growth": 100.0}}))  # fmt: skip
    assert reach_grew(backend, loose, approved, _plan(["Platinum", "Gold"]), T0, T0) is None
    backend.close()


def _commit(sha: str, author: dict[str, Any] | None, committer: dict[str, Any] | None,
            parents: int = 1, verified: bool = False) -> dict[str, Any]:  # fmt: skip
    raw = {"name": "Someone", "email": "someone@example.com"}
    return {"sha": sha, "author": author, "committer": committer,
            "parents": [{"sha": str(i) * 40} for i in range(parents)],
            "commit": {"author": raw, "committer": raw, "message": "Merge branch 'main'",
                       "verification": {"verified": verified}}}  # fmt: skip


def test_commit_identities() -> None:
    carol, dana, erin = {"login": "carol", "id": 5}, {"login": "dana", "id": 7}, {"id": 9}
    flow = {"login": "web-flow", "id": 19864447}
    ids, unmapped = contributors([
        _commit("a" * 40, dana, dana),
        _commit("b" * 40, carol, flow, parents=2, verified=True),  # GitHub's "Update branch"
        _commit("c" * 40, None, dana),
    ])  # fmt: skip
    assert ids == {7}
    assert unmapped == ["author Someone <someone@example.com> of cccccccccccc"]
    # web-flow's email written into a commit by hand: not signed by GitHub, so it counts
    forged, _ = contributors([_commit("d" * 40, carol, flow, parents=2), _commit("e" * 40,
                              erin | {"login": "erin"}, flow)])  # fmt: skip
    assert forged == {5, 9}
