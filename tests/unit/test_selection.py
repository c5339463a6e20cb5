"""What a partial plan reads: a file's id from its text when that is certain (parsed otherwise),
targets, and the files that can hold a selected campaign."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_gitops.desired.loader import Source, build
from campaign_gitops.desired.selection import Selection, TargetError, file_id

STEM = "campaigns/team/stem.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", "stem"),
        ("# the id is the file name\nname: x\n", "stem"),
        ("did: 1\nvalid: 2\nidle: 3\n", "stem"),
        ("id: foo\nname: x\n", "foo"),
        ("id: foo   # a comment\nname: x\n", "foo"),
        ("id: 'foo'\n", "foo"),
        ('id: "foo"', "foo"),
        # the text alone does not tell: parsed
        ("id: foo#x\nname: x\n", None),
        ("id: foo\n  bar\n", None),
        ("id: true\n", None),
        ("id: 2027-sale\n", None),
        ('"id": foo\n', None),
        ("{id: foo, name: x}\n", None),
        ("id: &a foo\n", None),
        ("name: x  # the id\n", None),
        ('"\\x69d": foo\n', None),
        ("id: one\nid: two\n", None),
    ],
)
def test_a_files_id_from_its_text(text: str, expected: str | None) -> None:
    from campaign_gitops.desired import selection

    parsed: list[str] = []
    original = selection._parsed_id
    selection._parsed_id = lambda source: parsed.append(source.text) or "parsed"  # type: ignore[assignment,func-returns-value]
    try:
        assert file_id(Source(STEM, text)) == (expected or "parsed")
    finally:
        selection._parsed_id = original
    assert bool(parsed) == (expected is None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: 2027-sale\n", "2027-sale"),
        ('"id": foo\n', "foo"),
        ("{id: foo, name: x}\n", "foo"),
        ('"\\x69d": foo\n', "foo"),
        ("id: true\n", "stem"),  # not a string: the file name is the id (and the schema fails)
        ("name: [unclosed\n", "stem"),
    ],
)
def test_a_files_id_parsed_when_the_text_does_not_tell(text: str, expected: str) -> None:
    assert file_id(Source(STEM, text)) == expected


def test_targets(tmp_path: Path) -> None:
    picked = Selection.of_targets(
        ["welcome-push", "team-a-*", "campaigns/team-b", "team-c/x.yaml", str(tmp_path / "y")],
        tmp_path,
        "campaigns",
    )
    assert picked.ids == {"welcome-push"} and picked.globs == ("team-a-*",)
    assert picked.paths == ("campaigns/team-b", "campaigns/team-c/x.yaml", "campaigns/y")
    assert picked.matches_id("team-a-1") and not picked.matches_id("team-b-1")
    assert picked.matches_file("campaigns/team-b/deep/z.yaml")
    assert not picked.matches_file("campaigns/team-bb/z.yaml")
    assert Selection.of_targets(["campaigns/t*/x.yaml"], tmp_path, "campaigns").matches_file(
        "campaigns/team/x.yaml"
    )
    for bad in ("Welcome", "../x/y.yaml", "/elsewhere/x.yaml", "campaigns/../labels.yaml"):
        with pytest.raises(TargetError):
            Selection.of_targets([bad], tmp_path, "campaigns")


LABELS = Source("labels.yaml", "labels:\n  - name: Big Sale\n  - name: Other\n")


def _campaign(labels: str = "[Other]", head: str = "") -> str:
    return (
        f"{head}name: N\nchannel: push\nlabels: {labels}\nwhat:\n  content: {{title: T, body: B}}\n"
        "when: {delivery: now}\n"
    )


def test_pick_reads_every_file_that_can_hold_a_selected_campaign() -> None:
    sources = [
        Source("campaigns/a/one.yaml", _campaign()),
        Source("campaigns/b/one.yaml", _campaign()),  # the same id by its name: a duplicate
        Source("campaigns/c/other.yaml", _campaign(head="id: one\n")),  # the same id, named
        Source("campaigns/d/two.yaml", _campaign()),
        Source("campaigns/e/three.yaml", _campaign("[Big\n    Sale]")),  # folded over lines
        Source("campaigns/f/four.yaml", _campaign("[Other, Big Sale]")),
        Source("campaigns/g/five.yaml", _campaign("[Other]", head="# Big Sale soon\n")),
    ]
    selection = Selection(frozenset({"one"}), labels=frozenset({"Big Sale"}))
    picked = [s.file for s in selection.pick(sources)]
    assert picked == [
        "campaigns/a/one.yaml",
        "campaigns/b/one.yaml",
        "campaigns/c/other.yaml",
        "campaigns/e/three.yaml",
        "campaigns/f/four.yaml",
        "campaigns/g/five.yaml",  # the words are there: parsed, then left out
    ]
    distinct = [s for s in sources if s.file != "campaigns/b/one.yaml" and "c/" not in s.file]
    desired = selection.restrict(build(selection.pick(distinct), LABELS))
    assert set(desired.campaigns) == {"one", "three", "four"}
    only = selection.only(desired, ["one", "gone", "five"])
    assert only == {"one", "three", "four"}  # "gone" is no id the selection names
    assert Selection(globs=("g*",)).only(desired, ["gone", "one"]) == {
        "one",
        "three",
        "four",
        "gone",
    }
