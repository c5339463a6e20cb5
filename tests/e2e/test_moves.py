"""Moves through the CLI (#18): a renamed file that says `moved_from` keeps its live campaign and
record (nothing created or forgotten), a rename without it is pointed out, `state mv` and
`state rm` for what no file says, a move that conflicts with a file, and on the CleverTap
stand-in a move whose name keeps its old marker, found again by it when the state store is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import run
from tests.e2e.test_clevertap import _push, ct
from tests.e2e.test_github_flow import git
from tests.fake_clevertap import ACCOUNT, FakeClevertap

T0 = "2026-11-23T10:00:00Z"
OLD, NEW = "welcome-push", "welcome-push-day1"
OLD_FILE = Path("campaigns/onboarding/welcome-push.yaml")
NEW_FILE = Path("campaigns/onboarding/welcome-push-day1.yaml")


def cli(repo: Path, *args: str) -> tuple[int, str, str]:
    done = run("--at", T0, *args, cwd=repo)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def plan_json(repo: Path) -> dict[str, Any]:
    code, out, err = cli(repo, "plan", "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def kinds(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((c["kind"], c["key"]) for c in plan["changes"])


def live(repo: Path) -> dict[str, dict[str, Any]]:
    """The platform's campaigns by platform id."""
    code, out, err = cli(repo, "list", "--all", "--format", "json")
    assert code == 0, err
    return {str(c["platform_id"]): c for c in json.loads(out)}


def record(repo: Path, key: str) -> dict[str, Any]:
    code, out, err = cli(repo, "state", "show", key)
    assert code == 0, err
    shown: dict[str, Any] = json.loads(out)
    return shown


def applied(repo: Path) -> str:
    code, out, err = cli(repo, "apply", "--auto-approve")
    assert code == 0, out + err
    return out


def converged(repo: Path) -> None:
    code, out, err = cli(repo, "plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes." in out


@pytest.fixture
def applied_repo(repo: Path) -> Path:
    """The repository's campaigns in git, applied to the local platform."""
    (repo / ".gitignore").write_text(".campaign-gitops/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dana@example.com")
    git(repo, "config", "user.name", "Dana Author")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "campaigns")
    applied(repo)
    return repo


def renamed(repo: Path, moved_from: str | None) -> None:
    git(repo, "mv", str(OLD_FILE), str(NEW_FILE))
    if moved_from is not None:
        path = repo / NEW_FILE
        path.write_text(path.read_text() + f"moved_from: {moved_from}\n")


def test_a_moved_file_keeps_its_live_campaign_and_record(applied_repo: Path) -> None:
    repo = applied_repo
    before = record(repo, OLD)
    platform_id = str(before["platform_id"])
    status = live(repo)[platform_id]["status"]
    renamed(repo, moved_from=OLD)
    code, out, err = cli(repo, "plan", "--detailed-exitcode")
    assert code == 2, out + err
    assert f"~ move campaign {OLD} -> {NEW}" in out
    assert "create" not in out and "forget" not in out
    plan = plan_json(repo)
    assert kinds(plan) == [("move", NEW)]
    [move] = plan["changes"]
    assert move["moved_from"] == OLD and move["platform_id"] == platform_id
    assert move["verdict"] == "ok" and move["target"] == "campaign"
    done = applied(repo)
    assert "Apply complete: 1 applied" in done
    after = live(repo)
    assert after[platform_id]["status"] == status  # the same campaign, still running
    assert after[platform_id]["id"] == NEW
    assert len(after) == 21  # nothing created
    moved = record(repo, NEW)
    assert moved["platform_id"] == platform_id
    assert moved["spec"]["name"] == before["spec"]["name"]
    gone = run("state", "show", OLD, cwd=repo)
    assert gone.returncode == 1 and "not managed" in gone.stderr
    converged(repo)
    # the file may keep saying where it came from: nothing more to do either way
    (repo / NEW_FILE).write_text((repo / NEW_FILE).read_text().replace(f"moved_from: {OLD}\n", ""))
    converged(repo)


def test_a_saved_plan_moves(applied_repo: Path) -> None:
    repo = applied_repo
    platform_id = str(record(repo, OLD)["platform_id"])
    renamed(repo, moved_from=OLD)
    saved = repo / "out" / "plan.json"
    code, _, err = cli(repo, "plan", "--out", str(saved))
    assert code == 0, err
    code, out, err = cli(repo, "apply", str(saved))
    assert code == 0 and "Apply complete: 1 applied" in out, out + err
    assert record(repo, NEW)["platform_id"] == platform_id
    converged(repo)


def test_a_rename_without_moved_from_is_pointed_out(applied_repo: Path) -> None:
    repo = applied_repo
    renamed(repo, moved_from=None)
    code, out, err = cli(repo, "plan")
    assert code == 0, err
    assert f"+ create campaign {NEW}" in out and f". forget campaign {OLD}" in out
    assert f"{NEW} looks like {OLD} renamed" in out
    assert f"add `moved_from: {OLD}` to {NEW}'s file" in out
    plan = plan_json(repo)
    assert kinds(plan) == [("create", NEW), ("forget", OLD)]
    assert any("looks like" in note and "moved_from" in note for note in plan["notices"])


def test_a_move_onto_a_live_campaign_no_file_manages_is_blocked(applied_repo: Path) -> None:
    repo = applied_repo
    # a campaign made outside git under the new id: a move onto it would leave two with one id
    spare = repo / "campaigns" / "onboarding" / f"{NEW}.yaml"
    spare.write_text((repo / OLD_FILE).read_text().replace("Welcome push, day 1", "Other"))
    applied(repo)
    cli(repo, "state", "rm", NEW)
    spare.unlink()
    renamed(repo, moved_from=OLD)
    code, out, _ = cli(repo, "plan")
    assert code == 1, out
    assert f"! move campaign {OLD} -> {NEW}: BLOCKED" in out
    assert "a move onto it would leave two live campaigns with one id" in out
    refused = run("--at", T0, "apply", "--auto-approve", cwd=repo)
    assert refused.returncode == 1 and "nothing was applied" in refused.stderr


def test_state_mv_for_a_rename_no_file_says(applied_repo: Path) -> None:
    repo = applied_repo
    platform_id = str(record(repo, OLD)["platform_id"])
    renamed(repo, moved_from=None)
    code, out, err = cli(repo, "state", "mv", OLD, NEW)
    assert code == 0, err
    assert f"moved {OLD} -> {NEW} in the state store" in out
    assert record(repo, NEW)["platform_id"] == platform_id
    converged(repo)  # neither created nor forgotten
    code, _, err = cli(repo, "state", "mv", OLD, NEW)
    assert code == 1 and f"campaign {OLD!r} is not managed" in err
    code, _, err = cli(repo, "state", "mv", NEW, "cart-abandonment")
    assert code == 1 and "already manages a campaign 'cart-abandonment'" in err
    code, _, err = cli(repo, "state", "mv", NEW, "Not An Id")
    assert code != 0 and "Not An Id" in err
    # the platform still calls the campaign welcome-push: a new file with that id is neither
    # a second record of it nor a second live campaign with its id
    again = (repo / NEW_FILE).read_text().replace("Welcome push, day 1", "Welcome again")
    (repo / OLD_FILE).write_text(again)
    code, out, err = cli(repo, "plan")
    assert code == 1 and f"! create campaign {OLD} (published): BLOCKED" in out, out + err
    assert f"live campaign {platform_id} still carries the id {OLD}, and {NEW} manages it" in out
    assert "adopt" not in out


def test_state_rm_of_an_id_whose_file_remains_is_adopted_again(applied_repo: Path) -> None:
    repo = applied_repo
    platform_id = str(record(repo, OLD)["platform_id"])
    code, out, err = cli(repo, "state", "rm", OLD)
    assert code == 0, err
    assert f"removed {OLD} from the state store" in out
    assert f"note: {OLD_FILE.as_posix()} still has the id {OLD}" in out
    assert "the next plan adopts its live campaign again" in out
    code, out, err = cli(repo, "plan", "--detailed-exitcode")
    assert code == 2 and f"<= adopt campaign {OLD}" in out, out + err
    assert kinds(plan_json(repo)) == [("adopt", OLD)]
    applied(repo)
    assert record(repo, OLD)["platform_id"] == platform_id
    converged(repo)
    code, _, err = cli(repo, "state", "rm", "never-managed")
    assert code == 1 and "'never-managed' is not managed" in err


def test_state_rm_of_an_id_no_file_has(applied_repo: Path) -> None:
    repo = applied_repo
    (repo / OLD_FILE).unlink()
    code, out, err = cli(repo, "state", "rm", OLD)
    assert code == 0, err
    assert "still has the id" not in out and "adopts" not in out
    converged(repo)  # no forget left: the campaign runs on, unmanaged


def test_moved_from_an_id_a_file_still_has_is_a_problem(applied_repo: Path) -> None:
    repo = applied_repo
    (repo / NEW_FILE).write_text((repo / OLD_FILE).read_text() + f"moved_from: {OLD}\n")
    other = repo / "campaigns" / "onboarding" / "also-moved.yaml"
    other.write_text((repo / OLD_FILE).read_text() + f"moved_from: {OLD}\nlabel: x\n")
    line = len((repo / OLD_FILE).read_text().splitlines()) + 1
    present = (
        f"{NEW_FILE.as_posix()}:{line}:13: moved_from: '{OLD}' is still the id of "
        f"{OLD_FILE.as_posix()}: remove one of them"
    )
    also = f"campaigns/onboarding/also-moved.yaml:{line}:13: moved_from: '{OLD}' is still the id"
    unknown = f"campaigns/onboarding/also-moved.yaml:{line + 1}:1: label: unknown field 'label'"
    for command in ("validate", "plan"):
        code, out, err = cli(repo, command)
        said = out + err  # validate's report is its output; plan's an error
        assert code == 1, said
        for expected in (present, also, unknown):
            assert expected in said, (command, said)
        assert "3 problem(s) found" in said
    code, out, _ = cli(repo, "validate", "--format", "json")
    problems = json.loads(out)["problems"]
    assert {p["code"] for p in problems} == {"moved-from-present", "unknown-field"}
    # the old file gone: one move, and a second file moving from the same id is refused
    (repo / OLD_FILE).unlink()
    code, out, err = cli(repo, "validate")
    said = out + err
    assert code == 1 and "[duplicate-moved-from]" in said
    assert "also-moved.yaml moves from 'welcome-push' too" in said
    assert "[moved-from-present]" not in said
    other.unlink()
    assert kinds(plan_json(repo)) == [("move", NEW)]


def test_a_pull_requests_plan_moves(applied_repo: Path) -> None:
    """--changed-since reads both ids of a renamed file: the move, as the whole plan has it."""
    repo = applied_repo
    git(repo, "checkout", "-q", "-b", "rename")
    renamed(repo, moved_from=OLD)
    git(repo, "commit", "-q", "-am", "rename")
    code, out, err = cli(repo, "plan", "--changed-since", "main", "--format", "json")
    assert code == 0, err
    assert kinds(json.loads(out)) == [("move", NEW)]


def test_a_partial_plan_of_the_new_id_moves_too(applied_repo: Path) -> None:
    repo = applied_repo
    renamed(repo, moved_from=OLD)
    code, out, err = cli(repo, "plan", "--target", NEW, "--format", "json")
    assert code == 0, err
    assert kinds(json.loads(out)) == [("move", NEW)]


def test_a_partial_plan_of_the_old_id_forgets_nothing(applied_repo: Path) -> None:
    repo = applied_repo
    renamed(repo, moved_from=OLD)
    code, out, err = cli(repo, "plan", "--target", OLD, "--format", "json")
    assert code == 0, err
    assert kinds(json.loads(out)) == [("move", NEW)]
    code, out, err = cli(repo, "apply", "--auto-approve", "--target", OLD)
    assert code == 0, err
    code, out, err = cli(repo, "plan", "--detailed-exitcode")
    assert code == 0, out + err  # the invariant, after a partial apply of the move


# -- CleverTap: the API renames nothing, so the name keeps its old marker -----------------------


@pytest.fixture
def server() -> Iterator[FakeClevertap]:
    with FakeClevertap() as fake:
        yield fake


def _clevertap_repo(root: Path, server: FakeClevertap) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels:\n  - name: Promotions\n")
    (root / "campaign-gitops.toml").write_text(
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{server.url}"\ntimeout = 2.0\n'
    )
    (root / "campaigns" / "sale-0.yaml").write_text(_push("Sale 0"))
    (root / "campaigns" / "sale-1.yaml").write_text(_push("Sale 1"))
    return root


def _labelled(server: FakeClevertap) -> None:
    """The labels set in the dashboard, as each create's note asks (the API has none)."""
    for name in ("Sale 0 [sale-0]", "Sale 1 [sale-1]"):
        server.set_labels(server.by_name(name)[0], "Promotions")


def _move_sale_0(root: Path) -> None:
    old = root / "campaigns" / "sale-0.yaml"
    (root / "campaigns" / "spring-sale.yaml").write_text(old.read_text() + "moved_from: sale-0\n")
    old.unlink()


def _created(server: FakeClevertap) -> dict[str, list[str]]:
    """Every campaign on the server by name, with its statuses: none twice."""
    by_name = server.live_by_name()
    assert all(len(statuses) == 1 for statuses in by_name.values()), by_name
    return by_name


def test_clevertap_move_keeps_the_old_marker(server: FakeClevertap, tmp_path: Path) -> None:
    root = _clevertap_repo(tmp_path, server)
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    _labelled(server)
    [platform_id] = server.by_name("Sale 0 [sale-0]")
    _move_sale_0(root)
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 2, out
    assert "~ move campaign sale-0 -> spring-sale" in out
    assert "the name keeps its [sale-0] marker" in out
    assert "keep `moved_from: sale-0` in the file" in out
    assert "+ create" not in out and "forget" not in out
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "Apply complete: 1 applied" in out, out
    assert _created(server) == {"Sale 0 [sale-0]": ["scheduled"], "Sale 1 [sale-1]": ["scheduled"]}
    code, out = ct(root, "state", "show", "spring-sale")
    assert code == 0 and json.loads(out)["platform_id"] == str(platform_id)
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out
    # the state store is lost: the old marker finds the campaign, which is adopted, not created
    (root / ".campaign-gitops" / "state.db").unlink()
    code, out = ct(root, "plan", "--format", "json")
    assert code == 0, out
    plan = json.loads(out)
    assert kinds(plan) == [("adopt", "sale-1"), ("adopt", "spring-sale")]
    assert {c["key"]: c["platform_id"] for c in plan["changes"]}["spring-sale"] == str(platform_id)
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    assert sorted(_created(server)) == ["Sale 0 [sale-0]", "Sale 1 [sale-1]"]
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out


def test_clevertap_an_old_id_stays_taken_by_the_moved_campaign(
    server: FakeClevertap, tmp_path: Path
) -> None:
    """The moved campaign keeps its [sale-0] marker: a new file with the id sale-0 (once the
    moved one no longer says `moved_from`) would adopt it a second time, or make a second live
    campaign marked sale-0 (which a lost state store could not tell apart): blocked."""
    root = _clevertap_repo(tmp_path, server)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    _labelled(server)
    [platform_id] = server.by_name("Sale 0 [sale-0]")
    _move_sale_0(root)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    (root / "campaigns" / "sale-0.yaml").write_text(_push("Sale zero", "2026-12-05T09:00:00Z"))
    code, out = ct(root, "validate")
    assert code == 1 and "[moved-from-present]" in out, out  # while the move is said
    moved = root / "campaigns" / "spring-sale.yaml"
    moved.write_text(moved.read_text().replace("moved_from: sale-0\n", ""))
    code, out = ct(root, "plan")
    assert code == 1 and "! create campaign sale-0 (published): BLOCKED" in out, out
    assert f"live campaign {platform_id} still carries the id sale-0, and spring-sale" in out
    assert "adopt" not in out
    (root / "campaigns" / "sale-0.yaml").unlink()
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert sorted(_created(server)) == ["Sale 0 [sale-0]", "Sale 1 [sale-1]"]


def test_clevertap_lost_store_before_the_move_is_applied(
    server: FakeClevertap, tmp_path: Path
) -> None:
    root = _clevertap_repo(tmp_path, server)
    assert ct(root, "apply", "--auto-approve")[0] == 0
    _labelled(server)
    _move_sale_0(root)
    (root / ".campaign-gitops" / "state.db").unlink()
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 2, out
    assert "<= adopt campaign spring-sale" in out and "+ create" not in out
    assert ct(root, "apply", "--auto-approve")[0] == 0
    assert sorted(_created(server)) == ["Sale 0 [sale-0]", "Sale 1 [sale-1]"]
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out
