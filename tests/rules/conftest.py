"""`make_config` (and `make_config_text`, its text): a configuration with two accounts
(`s`, Diga; `crm`, Bitrix24 with flows 1-3) and the rules given as TOML."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flowtui.config import Config, parse_config

ACCOUNTS = """
[accounts.s]
kind = "diga"
token_env = "S_TOKEN"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "CRM_WEBHOOK"
flow_ids = [1, 2, 3]
"""


def config_text(rules: str, timezone: str = "Europe/Berlin") -> str:
    return f'[settings]\ntimezone = "{timezone}"\n{ACCOUNTS}\n{rules}'


def build_config(rules: str, timezone: str = "Europe/Berlin") -> Config:
    return parse_config(config_text(rules, timezone), "t.toml")


@pytest.fixture
def make_config() -> Callable[..., Config]:
    return build_config


@pytest.fixture
def make_config_text() -> Callable[..., str]:
    """`make_config_text(rules, timezone=…)`: the text `make_config` parses."""
    return config_text
