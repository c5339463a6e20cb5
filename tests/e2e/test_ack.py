"""Manual changes finished with `campaign-gitops ack`, through the CLI, on the clevertap backend
against its stand-in: a campaign the API cannot create and an edit the API cannot make each
converge once acknowledged, and are planned again when their file changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.test_clevertap import POPUP, _push
from tests.fake_clevertap import ACCOUNT, PASSCODE, FakeClevertap

T0 = "2026-11-23T10:00:00Z"
ENV = {"CLEVERTAP_PASSCODE": PASSCODE}
POPUP_ACK = "campaign-gitops ack exit-popup --platform-id <the dashboard campaign's id>"


@pytest.fixture
def server() -> Iterator[FakeClevertap]:
    with FakeClevertap() as fake:
        yield fake


def _repo(root: Path, server: FakeClevertap) -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "labels.yaml").write_text("labels:\n  - name: Promotions\n")
    (root / "campaign-gitops.toml").write_text(
        f'backend = "clevertap"\n\n[clevertap]\naccount_id = "{ACCOUNT}"\n'
        f'base_url = "{server.url}"\n'
    )
    return root


def ct(root: Path, *args: str) -> tuple[int, str]:
    done = run("--at", T0, *args, cwd=root, env=ENV)
    return done.returncode, done.stdout + done.stderr


def test_a_manual_create_converges_with_ack(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server)
    popup = root / "campaigns" / "exit-popup.yaml"
    popup.write_text(POPUP)
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert "? create campaign exit-popup (published): MANUAL" in out
    assert f"once done: {POPUP_ACK}" in out
    markdown = ct(root, "plan", "--format", "markdown")[1]
    assert f"Once done: `{POPUP_ACK}`" in markdown

    # made by hand under another name: the API never lists it, no report names its id
    made = str(server.dashboard("Exit popup, winter", "web_pop_up"))
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "? create campaign exit-popup (published): MANUAL" in out, out
    code, out = ct(root, "ack", "exit-popup")  # a create needs the dashboard's id
    assert code == 1 and "pass --platform-id" in out, out
    code, out = ct(root, "ack", "exit-popup", "--platform-id", made, "--by", "dana", "--note",
                   "made by hand")  # fmt: skip
    assert code == 0, out
    assert f"Acknowledged create of campaign exit-popup (platform campaign {made})" in out

    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0, out
    assert "No changes." in out and "exit-popup" not in out
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "No changes." in out, out
    assert server.state.creates == 0  # nothing was created through the API
    shown = json.loads(ct(root, "state", "show", "exit-popup")[1])
    assert shown["platform_id"] == made
    [ack] = shown["acknowledgements"]
    assert (ack["changes"], ack["platform_id"], ack["by"], ack["note"]) == (
        ["create"], made, "dana", "made by hand",
    )  # fmt: skip
    assert ack["spec"]["name"] == "Exit popup"

    code, out = ct(root, "ack", "exit-popup", "--platform-id", made)
    assert code == 1, out
    assert "nothing manual is pending for exit-popup: the plan has no change for it" in out

    popup.write_text(POPUP.replace("title: Wait", "title: Wait a moment"))
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "? update campaign exit-popup [what]: MANUAL" in out, out
    assert "once done: campaign-gitops ack exit-popup\n" in out + "\n"

    popup.write_text(POPUP + "state: stopped\n")  # the API stops a dashboard-made campaign
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "- stop campaign exit-popup: done" in out, out
    assert server.state.status(server.state.campaigns[int(made)]) == "stopped"
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes." in out, out


def test_a_manual_edit_converges_with_ack(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server)
    sale = root / "campaigns" / "sale.yaml"
    sale.write_text(_push("Sale"))
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0 and "Apply complete: 1 applied" in out, out
    # labels are set in the dashboard, as the create asked; the message report shows them
    server.set_labels(server.by_name("Sale [sale]")[0], "Promotions")
    sale.write_text(_push("Sale").replace("title: Hello", "title: Hi there"))
    code, out = ct(root, "plan")
    assert code == 0 and "? update campaign sale [what]: MANUAL" in out, out
    assert "once done: campaign-gitops ack sale\n" in out

    code, out = ct(root, "ack", "sale", "--platform-id", "1")  # not the campaign it is
    assert code == 1, out
    code, out = ct(root, "ack", "sale")
    assert code == 0 and "Acknowledged update of campaign sale" in out, out
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes." in out, out
    shown = json.loads(ct(root, "state", "show", "sale")[1])
    assert shown["spec"]["what"]["content"]["title"] == "Hi there"
    assert [h.get("acknowledged") for h in shown["history"]] == [None, ["update"]]

    sale.write_text(_push("Sale").replace("title: Hello", "title: Hi again"))
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "? update campaign sale [what]: MANUAL" in out, out
    assert 'what.content.title: "Hi there" -> "Hi again"' in out
    assert server.state.creates == 1


def test_ack_refuses_when_nothing_manual_is_pending(server: FakeClevertap, tmp_path: Path) -> None:
    root = _repo(tmp_path, server)
    (root / "campaigns" / "sale.yaml").write_text(_push("Sale"))
    code, out = ct(root, "ack", "sale")
    assert code == 1, out
    assert (
        "error: nothing manual is pending for sale: the plan's changes for it are create (ok); "
        "apply makes them, not a person"
    ) in out
    code, out = ct(root, "ack", "nowhere")
    assert code == 1 and "nothing manual is pending for nowhere: no campaign file" in out, out
    assert "Traceback" not in out


def test_a_moved_campaign_is_acknowledged_after_its_move(
    server: FakeClevertap, tmp_path: Path
) -> None:
    """An ack plans its id with the id its file moves from: the move apply makes comes first
    (the make fuzz profile found an ack of a moved file recording a create of a new campaign)."""
    root = _repo(tmp_path, server)
    (root / "campaigns" / "sale.yaml").write_text(_push("Sale"))
    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    (root / "campaigns" / "sale.yaml").unlink()
    (root / "campaigns" / "promo.yaml").write_text(
        _push("Sale") + "moved_from: sale\nstate: stopped\narchived: true\n"
    )
    code, out = ct(root, "plan")
    assert "~ move campaign sale -> promo" in out and "- stop campaign promo" in out, out
    assert "? archive campaign promo" in out, out

    code, out = ct(root, "ack", "promo")
    assert code == 1, out
    assert "promo: apply first: move campaign sale -> promo, stop campaign promo" in out, out
    code, out = ct(root, "state", "show", "sale")
    assert code == 0 and "acknowledged" not in out, out  # nothing was recorded

    code, out = ct(root, "apply", "--auto-approve")
    assert code == 0, out
    code, out = ct(root, "ack", "promo")
    assert code == 0 and "Acknowledged" in out and "archive of campaign promo" in out, out
    code, out = ct(root, "plan", "--detailed-exitcode")
    assert code == 0 and "No changes." in out, out
    assert server.state.creates == 1
