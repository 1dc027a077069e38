"""Rule edits from the app: pause/resume, add or replace a rule, as edits of the operator's
file (flowtui.config_writer: in place, checked like `check`, atomic, `.bak`); the form's
texts converted and the rule validated before. No widgets here."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowtui import typed_time
from flowtui.config import AbSwitchRule, Config, ConfigError, MaintenanceRule, Rule
from flowtui.config_writer import Edit, put_rule, save_edit

KINDS: dict[str, type[MaintenanceRule] | type[AbSwitchRule]] = {
    "maintenance": MaintenanceRule,
    "ab_switch": AbSwitchRule,
}
# The keys the app's form edits, as written in the file: those of every rule of a kind, and
# those of each window form (config's FORMS, plus the except_dates of repeating windows).
# Keys not listed here (paused) are kept from the rule as they are.
COMMON_KEYS: dict[str, tuple[str, ...]] = {
    "maintenance": ("name", "flows", "state", "after", "enforce", "priority", "timezone"),
    "ab_switch": ("name", "a", "b", "order", "enforce", "timezone"),
}
WINDOW_FORMS: dict[str, dict[str, tuple[str, ...]]] = {
    "maintenance": {
        "cron": ("cron", "duration", "except_dates"),
        "once": ("start", "end"),
        "weekly": ("days", "from", "to", "except_dates"),
    },
    "ab_switch": {"cron": ("b_cron", "b_duration"), "alternate": ("every", "start")},
}
DATETIME_HINT = "write e.g. 2026-12-24 18:00+01:00 (without an offset: the rule's zone)"
DATE_HINT = "write dates like 2026-12-24, comma-separated"


class RuleEditError(ValueError):
    """The edit is invalid; `problems` are one line each, ready to show."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def kind_of(rule: Rule) -> str:
    return "maintenance" if isinstance(rule, MaintenanceRule) else "ab_switch"


def rule_fields(rule: Rule) -> dict[str, Any]:
    """The rule as the TOML table it is written as (typed values as text)."""
    return rule.model_dump(by_alias=True, exclude_none=True, mode="json")


def written_fields(config: Config, rule: Rule) -> dict[str, Any]:
    """The rule's table as the file `config` was read from writes it (so the form shows
    `48h` where the file says `48h`); `rule_fields` when there is no such file."""
    kind = kind_of(rule)
    if config.source_text is not None:
        tables = tomllib.loads(config.source_text).get(kind, [])
        for table in tables if isinstance(tables, list) else ():
            if isinstance(table, dict) and table.get("name") == rule.name:
                return table
    return rule_fields(rule)


def field_texts(fields: Mapping[str, Any]) -> dict[str, str]:
    """A rule's TOML table (`rule_fields`) as the form's texts; `form_fields` reads them
    back."""
    return {key: _text(value) for key, value in fields.items()}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def edited_keys(kind: str, form: str) -> tuple[str, ...]:
    """The keys the form shows for a rule of `kind` in window form `form`."""
    return COMMON_KEYS[kind] + WINDOW_FORMS[kind][form]


def form_fields(
    kind: str, form: str, base: Mapping[str, Any], entered: Mapping[str, str]
) -> dict[str, Any]:
    """The TOML table of a rule of `kind` in window form `form`, from what the form holds.

    Every key the form shows comes from `entered`: an empty entry removes the key (its
    default applies, or validation reports it missing), since the form is pre-filled with
    the rule and emptying a field is how the operator removes a value. The other window
    forms' keys are dropped; keys the form does not show (paused) keep their value from
    `base`. Lists are comma-separated; datetimes, dates and the priority are converted
    here, everything else is validated by flowtui.config. RuleEditError lists every entry
    that does not convert, in the order of `entered`.
    """
    every_key = COMMON_KEYS[kind] + tuple(k for keys in WINDOW_FORMS[kind].values() for k in keys)
    fields = {key: value for key, value in base.items() if key not in every_key}
    shown = edited_keys(kind, form)
    problems = []
    for key, text in entered.items():
        if key not in shown or not text.strip():
            continue
        try:
            fields[key] = CONVERSIONS.get(key, str)(text.strip())
        except ValueError as error:
            problems.append(f"{key}: {error}")
    if problems:
        raise RuleEditError(problems)
    return fields


def text_items(text: str) -> list[str]:
    """`"a, b,"` → `["a", "b"]`."""
    return [item.strip() for item in text.split(",") if item.strip()]


def text_datetime(text: str) -> datetime:
    """An ISO 8601 date and time, with or without an offset (`T` or a space between)."""
    return typed_time.wall_or_instant(text, DATETIME_HINT)


def text_dates(text: str) -> list[date]:
    """Comma-separated ISO dates."""
    dates = []
    for item in text_items(text):
        try:
            dates.append(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"{item!r} is not a date ({DATE_HINT})") from None
    return dates


def text_integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number (write e.g. 10 or -1)") from None


def text_bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"{text!r} is neither true nor false")
    return text.lower() == "true"


CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "flows": text_items,
    "a": text_items,
    "b": text_items,
    "days": text_items,
    "start": text_datetime,
    "end": text_datetime,
    "except_dates": text_dates,
    "priority": text_integer,
    "enforce": text_bool,
}


def rule_edit(config: Config, kind: str, fields: Mapping[str, Any], replaces: str | None) -> Edit:
    """The edit that adds a rule built from `fields` to the file of `config`, or replaces
    its rule named `replaces`. RuleEditError lists what is wrong with the fields."""
    try:
        KINDS[kind].model_validate(dict(fields))
    except ValidationError as error:
        raise RuleEditError(
            [f"{'.'.join(map(str, e['loc'])) or kind}: {_message(e)}" for e in error.errors()]
        ) from None
    names = {existing.name for existing in config.rules if existing.name != replaces}
    if fields.get("name") in names:
        raise RuleEditError([f"a rule named {fields['name']!r} already exists"])
    return put_rule(kind, fields, replaces)


def save(path: Path, edit: Edit) -> Config:
    """Apply `edit` to the file at `path` and return the saved configuration. RuleEditError
    (nothing written) when the result does not pass `check` or the rule is no longer in
    the file; OSError when the file cannot be written."""
    try:
        return save_edit(path, edit)
    except ConfigError as error:
        raise RuleEditError(
            [f"{p.message}" + (f" ({p.hint})" if p.hint else "") for p in error.problems]
        ) from None
    except KeyError as error:
        raise RuleEditError([f"no rule named {error.args[0]!r} in {path}"]) from None


def _message(error: Any) -> str:
    context = error.get("ctx") or {}
    message = str(context.get("message") or error["msg"]).removeprefix("Value error, ")
    return f"{message} ({context['hint']})" if context.get("hint") else message
