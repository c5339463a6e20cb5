from __future__ import annotations

import pytest

from campaign_gitops import yamlio


def test_yaml_1_2_scalars() -> None:
    data = yamlio.load(
        "on: [mon, thu]\nyes: no\nat: 09:00\nstart: 2026-12-01T09:00:00+05:30\n"
        "day: 2026-12-01\nflag: true\nn: ~\nint: 0x1f\nf: 1.5\n"
    )
    assert data == {
        "on": ["mon", "thu"],
        "yes": "no",
        "at": "09:00",
        "start": "2026-12-01T09:00:00+05:30",
        "day": "2026-12-01",
        "flag": True,
        "n": None,
        "int": 31,
        "f": 1.5,
    }


def test_duplicate_keys_are_rejected_with_both_lines() -> None:
    with pytest.raises(yamlio.YamlSyntaxError) as info:
        yamlio.load("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert (info.value.line, info.value.col) == (4, 3)
    assert "duplicate key 'c' (first defined on line 3)" in info.value.message


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(yamlio.YamlSyntaxError):
        yamlio.load("a: !!python/object/apply:os.system ['true']\n")


def test_locate_points_at_values_keys_and_nearest_ancestor() -> None:
    text = "a: 1\nb:\n  c: [1, {d: 2}]\n  e: x\n"
    assert yamlio.locate(text, ["b", "c", 1, "d"]) == (3, 14)
    assert yamlio.locate(text, ["b", "e"]) == (4, 6)
    assert yamlio.locate(text, ["b", "e"], at_key=True) == (4, 3)
    assert yamlio.locate(text, ["b"]) == (2, 1)
    assert yamlio.locate(text, ["b", "missing", "deeper"]) == (2, 1)
    assert yamlio.locate(text, ["b", "c", 9]) == (3, 3)


def test_dump_round_trips_multiline_strings() -> None:
    data = {"name": "x", "body": "line one\nline two\n", "on": ["mon"]}
    text = yamlio.dump(data)
    assert "body: |" in text
    assert yamlio.load(text) == data
