"""JSON Schemas generated from the models, committed under schemas/, and their validators."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

SCHEMA_NAMES = ("campaign", "labels", "config")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://campaign-gitops.dev/schemas/"


class _Generator(GenerateJsonSchema):
    def nullable_schema(self, schema: Any) -> Any:
        # An optional field is left out, never written as null: `X` instead of anyOf [X, null]
        # keeps errors exact ("is not of type string" rather than "matches no branch").
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: Any) -> Any:
        # A field left out is None; null is no value a file may hold (the schema above refuses
        # it), so `"default": null` would be a default the tool rejects: left out instead.
        json_schema = super().default_schema(schema)
        if isinstance(json_schema, dict) and json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema

    def normalize_name(self, name: str) -> str:
        # What[PushContent] -> PushWhat: readable names in editors' hovers
        match = re.fullmatch(r"(\w+)\[(\w+?)Content\]", name)
        return f"{match[2]}{match[1]}" if match else super().normalize_name(name)


def _discriminator_to_if_then(schema: dict[str, Any]) -> dict[str, Any]:
    """oneOf + discriminator gives validators nothing to go on but "matches no branch";
    if/then per channel gives exact errors in the tool, check-jsonschema and editors alike."""
    mapping: dict[str, str] = schema.pop("discriminator")["mapping"]
    schema.pop("oneOf")
    schema["type"] = "object"
    schema["required"] = ["channel"]
    schema["properties"] = {"channel": {"enum": list(mapping), "description": "Messaging channel"}}
    schema["allOf"] = [
        {
            "if": {"properties": {"channel": {"const": channel}}, "required": ["channel"]},
            "then": {"$ref": ref},
        }
        for channel, ref in mapping.items()
    ]
    return schema


def generate(name: str) -> dict[str, Any]:
    from campaign_gitops.config import RawConfig
    from campaign_gitops.models import CAMPAIGN_ADAPTER, LabelsFile

    adapters: dict[str, TypeAdapter[Any]] = {
        "campaign": CAMPAIGN_ADAPTER.union,
        "labels": TypeAdapter(LabelsFile),
        "config": TypeAdapter(RawConfig),
    }
    body = adapters[name].json_schema(schema_generator=_Generator)
    if name == "campaign":
        body = _discriminator_to_if_then(body)
    titles = {
        "campaign": "campaign-gitops campaign",
        "labels": "campaign-gitops labels",
        "config": "campaign-gitops configuration",
    }
    head = {"$schema": DIALECT, "$id": f"{BASE_URI}{name}.schema.json", "title": titles[name]}
    return head | {k: v for k, v in body.items() if k != "title"}


def render(name: str) -> str:
    return json.dumps(generate(name), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export(directory: Path) -> list[Path]:
    import jsonschema

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMA_NAMES:
        text = render(name)
        jsonschema.Draft202012Validator.check_schema(json.loads(text))
        path = directory / f"{name}.schema.json"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def packaged_text(name: str) -> str:
    return (resources.files("campaign_gitops") / "schemas" / f"{name}.schema.json").read_text()


@cache
def committed(name: str) -> dict[str, Any]:
    return json.loads(packaged_text(name))  # type: ignore[no-any-return]


@cache
def validator(name: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(committed(name), validate_formats=True)
