"""The JSON Schema of schedules.toml, generated from the models in flowtui.config, so
editors (taplo, Even Better TOML) complete and check keys. Pure.

`schedules.schema.json` at the repository root is this schema as `flowtui schema` prints
it; a test fails when the two drift apart.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from flowtui.config import Config
from flowtui.durations import format_duration

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _TomlSchema(GenerateJsonSchema):
    """TOML has no null (a key is set or absent), and people write `2h`, not `PT2H`."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default") is None or isinstance(schema.get("default"), BaseModel):
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def encode_default(self, dft: Any) -> Any:
        return format_duration(dft) if isinstance(dft, timedelta) else super().encode_default(dft)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of schedules.toml."""
    schema = Config.model_json_schema(by_alias=True, schema_generator=_TomlSchema)
    schema.pop("title", None)
    return {"$schema": DIALECT, "title": "schedules.toml (flowtui)", **schema}


def config_json_schema_text() -> str:
    """The schema as `flowtui schema` prints it and `schedules.schema.json` holds it."""
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n"
