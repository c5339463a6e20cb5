"""Issue #18, "no silent loss": a change that removes a value the platform has, because the file
omits it, says so in the text, markdown and JSON plans; import writes labels with everything the
platform has for them (the description), in any labels.yaml layout, keeping the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign_gitops import yamledit, yamlio
from campaign_gitops.backends.base import Capabilities
from campaign_gitops.diff import ABSENT, FieldChange
from campaign_gitops.models import Label
from campaign_gitops.plan import LabelUpdate, Plan, Update
from campaign_gitops.views import render
from tests.helpers import at
from tests.unit.test_planner import World, desired, doc


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_a_label_update_that_drops_the_description_says_it_clears_it() -> None:
    cleared = LabelUpdate("Onboarding", before="New users", after=None)
    edited = LabelUpdate("Promotions", before="Sales", after="Sales and coupons")
    added = LabelUpdate("Seasonal", before=None, after="Holidays")
    plan = Plan(at=at("2026-11-23T10:00"), changes=[cleared, edited, added])
    text = render.text(plan, colour=False)
    assert "~ update label Onboarding (clears description)\n" in text
    assert f'description: "New users" -> {ABSENT}' in text
    assert "~ update label Promotions\n" in text  # a new value clears nothing
    assert f'description: {ABSENT} -> "Holidays"' in text
    assert "<code>~ update label Onboarding</code> (clears description)" in render.markdown(plan)
    changes = {c["key"]: c["clears"] for c in json.loads(render.as_json(plan))["changes"]}
    assert changes == {"Onboarding": ["description"], "Promotions": [], "Seasonal": []}
    assert Plan.from_data(plan.data()).changes == plan.changes  # derived, not read back


def test_a_campaign_field_the_file_omits_is_marked_cleared(world: World) -> None:
    link = {"title": "Hi", "body": "There", "deep_link": "app://offers"}
    goal = {"event": "Charged", "within": "1d"}
    world.apply(desired({"welcome": doc(what={"content": link}, goal=goal)}))
    plan = world.plan(desired({"welcome": doc(labels=[])}))
    [update] = [c for c in plan.changes if isinstance(c, Update)]
    assert update.clears == ("goal", "what.content.deep_link")  # a list item left: not a field
    text = render.text(plan, colour=False)
    assert "[goal, labels, what] (clears goal, what.content.deep_link)" in text
    assert f'what.content.deep_link: "app://offers" -> {ABSENT}' in text
    [data] = [c for c in plan.data()["changes"] if c["kind"] == "update"]
    assert data["clears"] == ["goal", "what.content.deep_link"]


def test_only_a_field_removed_counts_and_long_lists_are_cut() -> None:
    assert FieldChange("goal", {"event": "Charged"}, None).clears
    assert not FieldChange("labels[1]", "B", ABSENT).clears  # an item, not a field
    assert not FieldChange("name", "A", "B").clears
    assert not FieldChange("goal", ABSENT, {"event": "Charged"}).clears
    many = tuple(FieldChange(f"what.content.key_values.k{i}", "v", ABSENT) for i in range(5))
    note = render.clears_note(Update("c", changes=many))
    assert (
        note == " (clears what.content.key_values.k0, what.content.key_values.k1, "
        "what.content.key_values.k2 and 2 more)"
    )


def test_a_platform_without_labels_says_so_in_the_plan(world: World) -> None:
    no_labels = Capabilities(labels=False, channels=frozenset({"push"}))
    plan = world.plan(desired({"welcome": doc()}), caps=no_labels)
    assert any("has no labels" in note for note in plan.notices)
    assert "Note: the platform's API has no labels" in render.text(plan, colour=False)
    assert not [c for c in plan.changes if c.TARGET == "label"]
    assert not world.plan(desired({"welcome": doc()})).notices


DESCRIBED = [
    Label(name="Seasonal", description="Holiday offers: Diwali, Christmas"),
    Label(name="yes", description="1e3"),
    Label(name="Multi", description="First line\n  second, indented\n"),
    Label(name="Bare"),
]


@pytest.mark.parametrize(
    "shape",
    [
        "labels: []\n",
        "# ours\nlabels:\n  - name: Onboarding\n    description: New users  # kept\n",
        "labels:\n- name: Onboarding\n  description: New users\n",
        "labels:\n    -   name: Onboarding\n        description: New users\n",
        "labels: [{name: Onboarding, description: New users}]  # flow\n",
        "labels:\n  - {name: Onboarding}\n",
        "labels:\n  - description: New users\n    name: Onboarding\n",
    ],
)
def test_labels_are_appended_with_their_descriptions_in_any_layout(
    tmp_path: Path, shape: str
) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(shape)
    assert yamledit.add_labels(path, [*DESCRIBED, "Bare", DESCRIBED[0]]) == [
        "Seasonal", "yes", "Multi", "Bare",
    ]  # fmt: skip
    after = path.read_text()
    comments = [line.partition("#")[2] for line in shape.splitlines() if "#" in line]
    assert comments == [line.partition("#")[2] for line in after.splitlines() if "#" in line]
    read = {item["name"]: item.get("description") for item in yamlio.load(after)["labels"]}
    assert {label.name: label.description for label in DESCRIBED}.items() <= read.items()
    assert "name: 'yes'" in after or "name: 'yes'," in after  # quoted as yamlio.dump would
    assert yamledit.add_labels(path, DESCRIBED) == [] and path.read_text() == after


@pytest.mark.parametrize("flow", [False, True])
def test_descriptions_read_back_exactly(tmp_path: Path, flow: bool) -> None:
    texts = ["a\r\nb", "tab\there\nx", "ends\n\n", "\nstarts", "  indented\nx", "é ü\n#not"]
    path = tmp_path / "labels.yaml"
    path.write_text("labels: []  # flow\n" if flow else "labels:\n  - name: A\n")
    labels = [Label(name=f"L{i}", description=text) for i, text in enumerate(texts)]
    yamledit.add_labels(path, labels)
    read = {
        item["name"]: item.get("description") for item in yamlio.load(path.read_text())["labels"]
    }
    assert all(read[label.name] == label.description for label in labels)
