"""The `Backend` contract (backends/base.py) against every implementation: the local platform and
the clevertap backend on its stand-in server (tests/fake_clevertap.py). What a backend cannot do
by its capabilities is refused with rule "api"; what it can do keeps the documented returns,
errors and idempotence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from campaign_gitops.backends.base import Actor, Backend, ListFilter, LiveCampaign, PlatformError
from campaign_gitops.backends.clevertap import ClevertapBackend
from campaign_gitops.backends.local import LocalBackend
from campaign_gitops.config import ClevertapConfig
from campaign_gitops.models import CAMPAIGN_ADAPTER, CampaignBase, Label
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the stand-in's clock
ACTOR = Actor("ci@example.com", "approver")
UNKNOWN = "1999999999"  # shaped like a platform id; no backend has it


def spec(name: str, **changes: Any) -> CampaignBase:
    data: dict[str, Any] = {
        "name": name,
        "channel": "push",
        "what": {"content": {"title": "Hello", "body": "Twenty percent off"}},
        "when": {"delivery": "on_date_time", "start": "2026-12-01T09:00:00Z"},
    }
    return CAMPAIGN_ADAPTER.validate_python(data | changes)


@pytest.fixture(params=["local", "clevertap"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    if request.param == "local":
        local = LocalBackend(tmp_path / "platform.db")
        yield local
        local.close()
        return
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    with FakeClevertap() as server:
        clevertap = ClevertapBackend(
            ClevertapConfig(account_id=ACCOUNT, base_url=server.url, timeout=5)
        )
        yield clevertap
        clevertap.close()


def create(
    backend: Backend, campaign_id: str, name: str, publish: bool = True, **changes: Any
) -> LiveCampaign:
    """As the applier creates: published unless told, as an approver."""
    return backend.create_campaign(
        campaign_id, spec(name, **changes), publish=publish, actor=ACTOR, now=NOW
    )


def named(backend: Backend, campaign_id: str) -> list[LiveCampaign]:
    where = ListFilter(archived="include")
    return [c for c in backend.list_campaigns(NOW, where) if c.id == campaign_id]


def test_a_created_campaign_is_listed_once_under_its_id(backend: Backend) -> None:
    made = create(backend, "contract-sale", "Sale")
    assert (made.id, made.name, made.channel, made.status) == (
        "contract-sale",
        "Sale",
        "push",
        "scheduled",
    )
    assert made.spec["name"] == "Sale"  # what the state store records
    [listed] = named(backend, "contract-sale")
    assert listed.platform_id == made.platform_id
    assert backend.get_campaign(made.platform_id, NOW).id == "contract-sale"
    # a read changes nothing: the same answer again
    assert backend.list_campaigns(NOW) == backend.list_campaigns(NOW)


def test_stop_is_idempotent(backend: Backend) -> None:
    made = create(backend, "contract-stop", "Stop me")
    first = backend.stop(made.platform_id, actor=ACTOR, now=NOW)
    again = backend.stop(made.platform_id, actor=ACTOR, now=NOW)
    assert first.status == again.status == "stopped"
    [listed] = named(backend, "contract-stop")
    assert listed.status == "stopped"


def test_an_unknown_platform_id_is_a_platform_error(backend: Backend) -> None:
    with pytest.raises(PlatformError):
        backend.get_campaign(UNKNOWN, NOW)
    with pytest.raises(PlatformError):
        backend.stop(UNKNOWN, actor=ACTOR, now=NOW)
    assert backend.campaigns_of(NOW, ["nobody"], [UNKNOWN]) == []


def test_what_the_capabilities_rule_out_is_refused_with_rule_api(backend: Backend) -> None:
    caps = backend.capabilities
    made = create(backend, "contract-caps", "Caps")
    pid = made.platform_id
    refused: list[Callable[[], object]] = []
    if not caps.update:
        refused.append(
            lambda: backend.update_campaign(
                pid, spec("Caps 2"), frozenset({"name"}), actor=ACTOR, now=NOW
            )
        )
    if not caps.drafts:
        refused.append(lambda: backend.publish(pid, actor=ACTOR, now=NOW))
        refused.append(lambda: backend.withdraw(pid, actor=ACTOR, now=NOW))
        with pytest.raises(PlatformError):
            create(backend, "contract-draft", "Draft", publish=False)
    if not caps.archive:
        refused.append(lambda: backend.archive(pid, actor=ACTOR, now=NOW))
    if not caps.labels:
        assert backend.list_labels() == []
        refused.append(lambda: backend.create_label(Label(name="Promotions")))
        refused.append(lambda: backend.update_label(Label(name="Promotions")))
        refused.append(lambda: backend.rename_label("Promotions", "Promos"))
        refused.append(lambda: backend.delete_label("Promotions"))
    for call in refused:
        with pytest.raises(PlatformError) as error:
            call()
        assert error.value.rule == "api"
    assert [c.status for c in named(backend, "contract-caps")] == ["scheduled"]  # untouched


def test_drafts_publish_once(backend: Backend) -> None:
    if not backend.capabilities.drafts:
        pytest.skip("no drafts: refused with rule api (test above)")
    draft = create(backend, "contract-draft", "Draft", publish=False)
    assert draft.status == "draft"
    published = backend.publish(draft.platform_id, actor=ACTOR, now=NOW)
    again = backend.publish(draft.platform_id, actor=ACTOR, now=NOW)
    assert published.status == again.status == "scheduled"
    assert again.spec == published.spec


def test_the_same_update_twice_leaves_the_same_content(backend: Backend) -> None:
    if not backend.capabilities.update:
        pytest.skip("no update: refused with rule api (test above)")
    made = create(backend, "contract-edit", "Edit")
    edited = spec("Edited")
    first = backend.update_campaign(
        made.platform_id, edited, frozenset({"name"}), actor=ACTOR, now=NOW
    )
    again = backend.update_campaign(
        made.platform_id, edited, frozenset({"name"}), actor=ACTOR, now=NOW
    )
    assert first.name == again.name == "Edited" and first.spec == again.spec
    with pytest.raises(PlatformError):
        backend.update_campaign(UNKNOWN, edited, frozenset({"name"}), actor=ACTOR, now=NOW)
    with pytest.raises(PlatformError) as channel:
        backend.update_campaign(
            made.platform_id,
            spec("Edited", channel="sms", what={"content": {"body": "x"}}),
            frozenset({"what"}),
            actor=ACTOR,
            now=NOW,
        )
    assert channel.value.rule == "channel"


def test_archive_is_idempotent(backend: Backend) -> None:
    if not backend.capabilities.archive:
        pytest.skip("no archive: refused with rule api (test above)")
    made = create(backend, "contract-archive", "Old")
    backend.stop(made.platform_id, actor=ACTOR, now=NOW)
    first = backend.archive(made.platform_id, actor=ACTOR, now=NOW)
    again = backend.archive(made.platform_id, actor=ACTOR, now=NOW)
    assert first.archived and again.archived
    assert named(backend, "contract-archive")[0].archived
    assert not [c for c in backend.list_campaigns(NOW) if c.id == "contract-archive"]


def test_labels_keep_their_contract(backend: Backend) -> None:
    if not backend.capabilities.labels:
        pytest.skip("no labels: refused with rule api (test above)")
    backend.create_label(Label(name="Promotions", description="sales"))
    with pytest.raises(PlatformError):
        backend.create_label(Label(name="Promotions"))  # not idempotent: refused
    for _ in range(2):
        backend.update_label(Label(name="Promotions", description="offers"))
    assert backend.list_labels() == [Label(name="Promotions", description="offers")]
    backend.rename_label("Promotions", "Promos")
    with pytest.raises(PlatformError):
        backend.rename_label("Promotions", "Promos")  # a repeat finds no old name
    create(backend, "contract-labelled", "L", labels=["Promos"])
    with pytest.raises(PlatformError) as in_use:
        backend.delete_label("Promos")
    assert in_use.value.rule == "label-in-use"
    backend.create_label(Label(name="Spare"))
    backend.delete_label("Spare")
    backend.delete_label("Spare")  # idempotent
    assert [label.name for label in backend.list_labels()] == ["Promos"]


def test_campaign_writes_may_run_side_by_side(backend: Backend) -> None:
    """As the applier makes them: one instance, up to max_concurrency threads, one campaign
    each."""
    workers = backend.capabilities.max_concurrency
    ids = [f"contract-par-{i}" for i in range(max(3, workers))]

    def one(campaign_id: str) -> str:
        return create(backend, campaign_id, campaign_id).platform_id

    if workers == 1:  # the applier calls it from one thread
        made = [one(i) for i in ids]
    else:
        with ThreadPoolExecutor(workers) as pool:
            made = list(pool.map(one, ids))
    assert len(set(made)) == len(ids)
    for campaign_id, platform_id in zip(ids, made, strict=True):
        assert [c.platform_id for c in named(backend, campaign_id)] == [platform_id]


def test_estimates_and_reports_are_reads(backend: Backend) -> None:
    made = create(backend, "contract-read", "Read")
    if backend.capabilities.estimate:
        reach = backend.estimate_reach(spec("Read"), NOW)
        assert isinstance(reach, int) and reach >= 0
        assert backend.estimate_reach(spec("Read"), NOW) == reach
    rows = backend.report(NOW)
    assert [r.id for r in rows if r.id == "contract-read"] == ["contract-read"]
    assert backend.report(NOW) == rows
    assert named(backend, "contract-read")[0].platform_id == made.platform_id
