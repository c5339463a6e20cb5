from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import jsonschema_rs
import pytest

from campaign_gitops import schema, yamlio
from campaign_gitops.models import CHANNELS

REPO = Path(__file__).resolve().parents[2]
INVALID = REPO / "tests" / "fixtures" / "invalid"


@pytest.mark.parametrize("name", schema.SCHEMA_NAMES)
def test_committed_schema_is_what_the_models_generate(name: str) -> None:
    committed = (REPO / "schemas" / f"{name}.schema.json").read_text()
    assert committed == schema.render(name), "run `campaign-gitops schema export`"


@pytest.mark.parametrize("name", schema.SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema.committed(name))


def test_campaign_schema_switches_on_channel_with_if_then() -> None:
    body = schema.committed("campaign")
    assert sorted(body["properties"]["channel"]["enum"]) == sorted(CHANNELS)
    branches = [b["if"]["properties"]["channel"]["const"] for b in body["allOf"]]
    assert sorted(branches) == sorted(CHANNELS)
    assert "oneOf" not in body


def _documents() -> list[tuple[str, object]]:
    docs = []
    for path in [*sorted((REPO / "campaigns").rglob("*.yaml")), *sorted(INVALID.glob("*.yaml"))]:
        try:
            docs.append((path.name, yamlio.load(path.read_text())))
        except yamlio.YamlSyntaxError:
            continue
    return docs


@pytest.mark.parametrize(("name", "document"), _documents(), ids=lambda v: str(v)[:40])
def test_jsonschema_and_jsonschema_rs_agree(name: str, document: object) -> None:
    """The tool validates with jsonschema-rs; check-jsonschema and editors use other
    implementations. They must give the same verdict on every fixture."""
    body = schema.committed("campaign")
    py = jsonschema.Draft202012Validator(body, format_checker=jsonschema.FormatChecker())
    rs = jsonschema_rs.validator_for(body, validate_formats=True)
    assert py.is_valid(document) == rs.is_valid(document)


def test_export_writes_and_check_detects_drift(tmp_path: Path) -> None:
    from campaign_gitops.commands.schema import export

    assert export(tmp_path, check=True) == 1
    assert export(tmp_path, check=False) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "campaign.schema.json",
        "config.schema.json",
        "labels.schema.json",
    ]
    assert export(tmp_path, check=True) == 0
    doc = json.loads((tmp_path / "labels.schema.json").read_text())
    assert doc["properties"]["labels"]["maxItems"] == 900
