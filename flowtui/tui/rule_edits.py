"""Rule edits from the app: pause/resume, add or replace a rule. Each returns a new Config;
`save` writes it with flowtui.config_writer (validated like `check`, atomic, `.bak`) and
reads it back. No widgets here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowtui.config import AbSwitchRule, Config, ConfigError, MaintenanceRule, Rule, load_config
from flowtui.config_writer import save_config

KINDS = {"maintenance": MaintenanceRule, "ab_switch": AbSwitchRule}
# The window keys of each kind, and those of the cron form the app's form edits.
WINDOW_KEYS = {
    "maintenance": ("cron", "duration", "start", "end", "days", "from", "to", "except_dates"),
    "ab_switch": ("b_cron", "b_duration", "every", "start"),
}
CRON_KEYS = {"maintenance": ("cron", "duration"), "ab_switch": ("b_cron", "b_duration")}
LIST_KEYS = ("flows", "a", "b")


class RuleEditError(ValueError):
    """The edit is invalid; `problems` are one line each, ready to show."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def kind_of(rule: Rule) -> str:
    return "maintenance" if isinstance(rule, MaintenanceRule) else "ab_switch"


def rule_fields(rule: Rule) -> dict[str, Any]:
    """The rule as the TOML table it is written as."""
    return rule.model_dump(by_alias=True, exclude_none=True, mode="json")


def merged_fields(kind: str, base: Mapping[str, Any], entered: Mapping[str, str]) -> dict[str, Any]:
    """An existing rule's fields (or none) updated with what the form holds: empty entries
    keep the old value, lists are comma-separated, and a cron window replaces any other
    window form."""
    fields = dict(base)
    if any(entered.get(key, "").strip() for key in CRON_KEYS[kind]):
        for key in WINDOW_KEYS[kind]:
            fields.pop(key, None)
    for key, value in entered.items():
        value = value.strip()
        if key in LIST_KEYS:
            items = [item.strip() for item in value.split(",") if item.strip()]
            if items:
                fields[key] = items
        elif value:
            fields[key] = value
        elif key == "timezone":
            fields.pop(key, None)
    return fields


def with_rule(config: Config, kind: str, fields: Mapping[str, Any], replaces: str | None) -> Config:
    """`config` with a rule built from `fields` added, or replacing the rule named
    `replaces`. RuleEditError lists what is wrong with the fields."""
    try:
        rule = KINDS[kind].model_validate(dict(fields))
    except ValidationError as error:
        raise RuleEditError(
            [f"{'.'.join(map(str, e['loc'])) or kind}: {_message(e)}" for e in error.errors()]
        ) from None
    rules = list(getattr(config, kind))
    names = [existing.name for existing in config.rules if existing.name != replaces]
    if rule.name in names:
        raise RuleEditError([f"a rule named {rule.name!r} already exists"])
    index = next((i for i, r in enumerate(rules) if r.name == replaces), None)
    if index is None:
        rules.append(rule)
    else:
        rules[index] = rule
    return config.model_copy(update={kind: tuple(rules)})


def with_paused(config: Config, name: str, paused: bool) -> Config:
    """`config` with rule `name` paused or resumed."""
    for kind in KINDS:
        rules = list(getattr(config, kind))
        for index, rule in enumerate(rules):
            if rule.name == name:
                rules[index] = rule.model_copy(update={"paused": paused})
                return config.model_copy(update={kind: tuple(rules)})
    raise RuleEditError([f"no rule named {name!r}"])


def save(config: Config, path: Path) -> Config:
    """Validate and write `config` to `path`, then read it back. RuleEditError (nothing
    written) when it does not pass `check`; OSError when the file cannot be written."""
    try:
        save_config(config, path)
    except ConfigError as error:
        raise RuleEditError(
            [f"{p.message}" + (f" ({p.hint})" if p.hint else "") for p in error.problems]
        ) from None
    return load_config(path)


def _message(error: Any) -> str:
    context = error.get("ctx") or {}
    return str(context.get("message") or error["msg"]).removeprefix("Value error, ")
