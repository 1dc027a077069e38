"""schedules.schema.json: generated from the models, committed, and true to every example
and test configuration; a misspelt key is refused by the schema as by `check`."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from flowtui.cli import main
from flowtui.config import (
    AbSwitchRule,
    Bitrix24Account,
    Config,
    ConfigError,
    DigaAccount,
    GassapiAccount,
    MaintenanceRule,
    RunflowAccount,
    Settings,
    parse_config,
)
from flowtui.demo import demo_config

ROOT = Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "schedules.schema.json"
EXAMPLE = ROOT / "schedules.toml"

# Every key the repository example does not use, so that together they use them all.
EVERY_OTHER_KEY = """\
[settings]
state_dir = "/var/lib/flowtui"
max_response = "10MiB"

[accounts.ops]
kind = "gassapi"
base_url = "https://gass.example.com/gassapi2/backend/"
token_env = "GASS_TOKEN"
toggle_only = true
concurrency = 2
allow_plain_http = false

[accounts.support]
kind = "diga"
token_env = "DIGA_API_KEY"
concurrency = 2
allow_plain_http = false

[accounts.lab]
kind = "runflow"
base_url = "http://10.0.0.5/runflow"
token_env = "RUNFLOW_LAB_KEY"
allow_plain_http = true

[accounts.portal]
kind = "bitrix24"
base_url = "https://portal.example.com"
token_env = "B24_TOKEN"
refresh_token_env = "B24_REFRESH"
client_id_env = "B24_CLIENT_ID"
client_secret_env = "B24_CLIENT_SECRET"
oauth_url = "https://oauth.bitrix.info/oauth/token/"
flow_ids = [1]
concurrency = 1
allow_plain_http = false

[keys]
enable = "E"

[[maintenance]]
name = "local-times"
flows = ["ops:*"]
days = ["Monday"]
from = 22:00:00
to = 06:00:00
priority = -1
paused = true

[[ab_switch]]
name = "paused-switch"
a = ["support:1"]
b = ["support:2"]
every = "1d"
start = 2031-01-01T00:00:00
enforce = true
priority = 1
paused = true
"""


def json_value(value: Any) -> Any:
    """A TOML value as JSON Schema tools (taplo) see it: dates and times are strings."""
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _stub_emulator() -> SimpleNamespace:
    """What the test suites' config writers read from a running emulator."""
    flows = {"flows": [{"id": f"flow{n}"} for n in range(5)]}
    bitrix = {"flows": [{"id": str(n)} for n in (517, 518)]}
    return SimpleNamespace(
        diga_url="http://127.0.0.1:9/diga",
        gassapi_url="http://127.0.0.1:9/gassapi/",
        runflow_url="http://127.0.0.1:9/runflow",
        runflow_org_id="org",
        state=lambda platform: bitrix if platform == "bitrix24" else flows,
    )


def configurations() -> Iterator[tuple[str, str]]:
    """(name, TOML text) of the example, every TOML file under tests/ and the
    configurations the demo and the test suites write."""
    from cli.conftest import config_text  # tests/cli/conftest.py
    from engine.conftest import accounts_toml  # tests/engine/conftest.py

    yield "schedules.toml", EXAMPLE.read_text()
    for path in sorted((ROOT / "tests").rglob("*.toml")):
        yield str(path.relative_to(ROOT)), path.read_text()
    emulator = _stub_emulator()
    state = {platform: emulator.state(platform) for platform in ("diga", "runflow", "bitrix24")}
    when = datetime(2031, 5, 5, 12, 0, tzinfo=UTC)
    yield "demo", tomli_w.dumps(demo_config(emulator, state, when))  # type: ignore[arg-type]
    yield "tests/cli config_text", config_text(emulator)
    yield "tests/engine accounts_toml", accounts_toml(emulator)
    yield "every other key", EVERY_OTHER_KEY


CONFIGS = dict(configurations())


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_committed_schema_is_what_flowtui_schema_prints() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == SCHEMA_FILE.read_text(), (
        "the models and schedules.schema.json differ: run `flowtui schema >"
        " schedules.schema.json` and commit the result"
    )


def test_the_example_names_the_schema() -> None:
    assert EXAMPLE.read_text().splitlines()[0] == "#:schema ./schedules.schema.json"


@pytest.mark.parametrize("name", CONFIGS)
def test_every_example_and_test_config_is_valid(name: str, validator: Draft202012Validator) -> None:
    text = CONFIGS[name]
    parse_config(text, name)  # a configuration the models accept …
    errors = [error.message for error in validator.iter_errors(json_value(tomllib.loads(text)))]
    assert errors == []  # … the schema accepts


def _keys(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(model, key) for every key of a configuration document."""
    yield from (("Config", key) for key in document)
    yield from (("Settings", key) for key in document.get("settings", {}))
    for account in document.get("accounts", {}).values():
        kind = {"diga": DigaAccount, "gassapi": GassapiAccount, "runflow": RunflowAccount}.get(
            account["kind"], Bitrix24Account
        )
        yield from ((kind.__name__, key) for key in account)
    for table, model in (("maintenance", MaintenanceRule), ("ab_switch", AbSwitchRule)):
        for rule in document.get(table, []):
            yield from ((model.__name__, key) for key in rule)


def test_the_examples_use_every_key_of_every_model() -> None:
    models = (Config, Settings, DigaAccount, GassapiAccount, RunflowAccount, Bitrix24Account)
    every = {
        (model.__name__, field.alias or name)
        for model in (*models, MaintenanceRule, AbSwitchRule)
        for name, field in model.model_fields.items()
    }
    used = {key for text in CONFIGS.values() for key in _keys(tomllib.loads(text))}
    assert every - used == set()


MISSPELT = [
    (("settings",), "timezone", "timezon"),
    ((), "maintenance", "maintenence"),
    (("accounts", "support"), "token_env", "tokn_env"),
    (("accounts", "crm"), "flow_ids", "flow_id"),
    (("maintenance", 0), "duration", "duraton"),
    (("ab_switch", 0), "b_cron", "b_crn"),
]


@pytest.mark.parametrize(("path", "key", "typo"), MISSPELT)
def test_the_schema_rejects_a_misspelt_key(
    path: tuple[str | int, ...], key: str, typo: str, validator: Draft202012Validator
) -> None:
    document = copy.deepcopy(tomllib.loads(EXAMPLE.read_text()))
    table = document
    for part in path:
        table = table[part]
    table[typo] = table.pop(key)
    assert not validator.is_valid(json_value(document))
    with pytest.raises(ConfigError, match=f"unknown key '{typo}'"):
        parse_config(tomli_w.dumps(document))
