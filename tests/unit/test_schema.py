from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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

    assert export(tmp_path, True, tmp_path, None) == 1
    assert export(tmp_path, False, tmp_path, None) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "campaign.schema.json",
        "config.schema.json",
        "labels.schema.json",
    ]
    assert export(tmp_path, True, tmp_path, None) == 0
    doc = json.loads((tmp_path / "labels.schema.json").read_text())
    assert doc["properties"]["labels"]["maxItems"] == 900


def _defaults(node: object, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(where, property schema) of every property that states a default."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "default" in sub:
                found.append((f"{where}/{key}", sub))
        for key, value in node.items():
            found += _defaults(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _defaults(value, f"{where}/{index}")
    return found


@pytest.mark.parametrize("name", schema.SCHEMA_NAMES)
def test_every_default_is_a_value_the_schema_accepts(name: str) -> None:
    """Issue #19: `"default": null` on optional fields that refuse null. Each stated default,
    validated against its own property's schema."""
    body = schema.generate(name)
    defaults = _defaults(body)
    assert defaults or name == "labels"  # the labels schema states none
    wrong = []
    for where, sub in defaults:
        rules = {"$defs": body.get("$defs", {})} | {k: v for k, v in sub.items() if k != "default"}
        errors = list(jsonschema.Draft202012Validator(rules).iter_errors(sub["default"]))
        if errors:
            wrong.append(f"{where}: {sub['default']!r}: {errors[0].message}")
    assert not wrong, "\n".join(wrong)


def _filled(data: dict[str, Any], object_schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Every default the schema states, written into `data` where it is left out, in nested
    objects too."""
    for key, sub in object_schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = sub["default"]
        ref = sub.get("$ref", "")
        if isinstance(data.get(key), dict) and ref.startswith("#/$defs/"):
            _filled(data[key], defs[ref.removeprefix("#/$defs/")], defs)


def test_a_config_with_every_default_filled_in_is_valid() -> None:
    from campaign_gitops.config import RawConfig

    body = schema.generate("config")
    data: dict[str, Any] = {"clevertap": {"account_id": "A"}, "environments": {"e": {}}}
    _filled(data, body, body["$defs"])
    _filled(data["environments"]["e"], body["$defs"]["EnvironmentConfig"], body["$defs"])
    assert data["clevertap"]["region"] == "eu1" and data["max_file_bytes"] == 1048576
    jsonschema.validate(data, body)
    RawConfig.model_validate(data | {"backend": "clevertap"}, strict=True)


@pytest.mark.parametrize("path", sorted((REPO / "campaigns").rglob("*.yaml")), ids=lambda p: p.stem)
def test_a_campaign_with_every_default_filled_in_is_valid(path: Path) -> None:
    from campaign_gitops.models import CAMPAIGN_ADAPTER

    body = schema.generate("campaign")
    defs = body["$defs"]
    data = yamlio.load(path.read_text())
    branch = next(
        b for b in body["allOf"] if b["if"]["properties"]["channel"]["const"] == data["channel"]
    )
    _filled(data, defs[branch["then"]["$ref"].removeprefix("#/$defs/")], defs)
    assert "on_locked_change" in data
    jsonschema.Draft202012Validator(body, format_checker=jsonschema.FormatChecker()).validate(data)
    CAMPAIGN_ADAPTER.validate_python(data)
