"""The rule form's conversions (flowtui.tui.rule_edits): every window form, emptied fields
and bad input, without widgets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from flowtui.config import AbSwitchRule, MaintenanceRule, parse_config
from flowtui.config_writer import edited_text
from flowtui.model import State
from flowtui.tui.rule_edits import (
    COMMON_KEYS,
    KINDS,
    WINDOW_FORMS,
    RuleEditError,
    field_texts,
    form_fields,
    rule_edit,
    rule_fields,
    text_datetime,
)

TEXT = '[accounts.crm]\nkind = "diga"\ntoken_env = "KEY"\n'
CONFIG = parse_config(TEXT)
PLUS_ONE = timezone(timedelta(hours=1))
WEEKLY = MaintenanceRule(
    name="nightly",
    flows=("crm:1",),
    days=("mon", "tue"),
    from_="22:00",
    to="06:00",
    except_dates=(date(2026, 12, 24),),
    priority=2,
    paused=True,
)


def saved_rule(kind: str, fields: dict[str, Any], replaces: dict[str, Any] | None = None) -> Any:
    """The rule as it reads back from the file the app would write, after replacing the
    rule `replaces` (the fields of a rule written first) or adding it."""
    text, name = TEXT, None
    if replaces is not None:
        text = edited_text(text, rule_edit(CONFIG, kind, replaces, None))
        name = replaces["name"]
    config = parse_config(edited_text(text, rule_edit(CONFIG, kind, fields, name)))
    return getattr(config, kind)[-1]


def problems(kind: str, form: str, entered: dict[str, str]) -> list[str]:
    with pytest.raises(RuleEditError) as caught:
        rule_edit(CONFIG, kind, form_fields(kind, form, {}, entered), None)
    return caught.value.problems


RULES = [
    WEEKLY,
    WEEKLY.model_copy(update={"timezone": "Asia/Kolkata", "enforce": True, "state": State.ENABLED}),
    MaintenanceRule(
        name="m",
        flows=("crm:*",),
        cron="0 2 * * SUN",
        duration="1h30m",
        except_dates=["2026-12-27"],
    ),
    MaintenanceRule(name="m", flows=("crm:1",), start="2026-12-24T18:00Z", end="2026-12-25T06:00Z"),
    MaintenanceRule(name="m", flows=("crm:1",), start="2026-12-24 18:00", end="2026-12-25 06:00"),
    AbSwitchRule(name="ab", a=("crm:1",), b=("crm:2",), b_cron="0 0 * * SAT", b_duration="2d"),
    AbSwitchRule(
        name="ab", a=("crm:1",), b=("crm:2",), every="12h", start="2026-11-01T00:00+01:00"
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{rule.name}-{rule.form}")
def test_a_rule_read_back_from_its_own_texts_is_unchanged(rule: Any) -> None:
    kind = "maintenance" if isinstance(rule, MaintenanceRule) else "ab_switch"
    fields = rule_fields(rule)
    again = KINDS[kind].model_validate(form_fields(kind, rule.form, fields, field_texts(fields)))
    assert again == rule


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_covers_every_window_form_and_key_of_the_model(kind: str) -> None:
    model = KINDS[kind]
    for form, keys in model.FORMS.items():
        aliased = {model.model_fields[key].alias or key for key in keys}
        assert aliased <= set(WINDOW_FORMS[kind][form])
    assert set(WINDOW_FORMS[kind]) == set(model.FORMS)
    edited = set(COMMON_KEYS[kind]).union(*WINDOW_FORMS[kind].values())
    keys = {field.alias or name for name, field in model.model_fields.items()}
    # paused is set from the schedules screen; a switch's priority has no meaning (SPEC §2)
    assert keys - edited == ({"paused"} if kind == "maintenance" else {"paused", "priority"})


def test_weekly_window_converts_lists_dates_and_priority() -> None:
    entered = {
        "name": " nightly ",
        "flows": "crm:1, crm:2,",
        "cron": "0 2 * * *",  # left in a hidden field of another form: ignored
        "days": "mon, Tuesday",
        "from": "22:00",
        "to": "6:00",
        "except_dates": "2026-12-24, 2026-12-31",
        "state": "disabled",
        "after": "enabled",
        "enforce": "true",
        "priority": "-3",
        "timezone": "",
    }
    fields = form_fields("maintenance", "weekly", {}, entered)
    assert fields["except_dates"] == [date(2026, 12, 24), date(2026, 12, 31)]
    assert fields["priority"] == -3
    assert "cron" not in fields
    rule = saved_rule("maintenance", fields)
    assert rule.form == "weekly"
    assert (rule.name, rule.flows, rule.days) == ("nightly", ("crm:1", "crm:2"), ("mon", "tue"))
    assert (rule.from_, rule.to, rule.after, rule.enforce) == (time(22), time(6), "enabled", True)
    assert rule.except_dates == (date(2026, 12, 24), date(2026, 12, 31))
    assert rule.timezone is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24T18:00:00+01:00", datetime(2026, 12, 24, 18, tzinfo=PLUS_ONE)),
        ("2026-12-24 18:00+01:00", datetime(2026, 12, 24, 18, tzinfo=PLUS_ONE)),
        ("2026-11-01T00:00Z", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-12-24 18:00", datetime(2026, 12, 24, 18)),  # local: read in the rule's zone
    ],
)
def test_datetimes_with_or_without_an_offset(text: str, expected: datetime) -> None:
    value = text_datetime(text)
    assert value == expected
    assert value.tzinfo == expected.tzinfo


def test_one_off_window_replaces_the_weekly_form_and_keeps_paused() -> None:
    entered = {
        "name": "nightly",
        "flows": "crm:1",
        "start": "2026-12-24 18:00+01:00",
        "end": "2026-12-27T06:00:00+01:00",
        "except_dates": "2026-12-25",  # belongs to repeating forms only: ignored here
        "priority": "2",
    }
    fields = form_fields("maintenance", "once", rule_fields(WEEKLY), entered)
    assert not {"days", "from", "to", "except_dates"} & set(fields)
    rule = saved_rule("maintenance", fields)
    assert rule.form == "once"
    assert rule.start == datetime(2026, 12, 24, 18, tzinfo=PLUS_ONE)
    assert rule.end == datetime(2026, 12, 27, 6, tzinfo=PLUS_ONE)
    assert (rule.paused, rule.priority) == (True, 2)


def test_alternate_switch_converts_its_start() -> None:
    base = rule_fields(
        AbSwitchRule(name="ab", a=("crm:1",), b=("crm:2",), b_cron="0 0 * * SAT", b_duration="2d")
    )
    entered = {
        "name": "ab",
        "a": "crm:1",
        "b": "crm:2",
        "every": "12h",
        "start": "2026-11-01 00:00Z",
    }
    rule = saved_rule("ab_switch", form_fields("ab_switch", "alternate", base, entered))
    assert rule.form == "alternate"
    assert (rule.every, rule.start) == (timedelta(hours=12), datetime(2026, 11, 1, tzinfo=UTC))
    assert (rule.b_cron, rule.b_duration) == (None, None)


def test_an_emptied_field_is_removed() -> None:
    base = rule_fields(WEEKLY.model_copy(update={"timezone": "UTC"}))
    entered = {"name": "nightly", "flows": "crm:1", "days": "mon", "from": "22:00", "to": "6:00"}
    fields = form_fields("maintenance", "weekly", base, {**entered, "priority": "  "})
    assert not {"priority", "timezone", "except_dates"} & set(fields)
    assert fields["paused"] is True  # not shown by the form: kept
    rule = saved_rule("maintenance", fields, replaces=base)
    assert (rule.priority, rule.timezone, rule.except_dates) == (0, None, ())
    for emptied, problem in [
        ("flows", "flows: Field required"),
        ("to", "maintenance: rule 'nightly' is missing to (use cron + duration or start + end"),
    ]:
        fields = form_fields("maintenance", "weekly", base, {**entered, emptied: ""})
        with pytest.raises(RuleEditError) as caught:
            rule_edit(CONFIG, "maintenance", fields, "nightly")
        assert caught.value.problems[0].startswith(problem)


def test_text_that_does_not_convert_is_listed_per_field() -> None:
    entered = {
        "name": "x",
        "flows": "crm:1",
        "start": "tomorrow",
        "end": "2026-12-24",
        "priority": "high",
    }
    assert problems("maintenance", "once", entered) == [
        "start: 'tomorrow' is not a date and time (write e.g. 2026-12-24 18:00+01:00"
        " (without an offset: the rule's zone))",
        "end: '2026-12-24' is not a date and time (write e.g. 2026-12-24 18:00+01:00"
        " (without an offset: the rule's zone))",
        "priority: 'high' is not a whole number (write e.g. 10 or -1)",
    ]
    weekly = {"name": "x", "flows": "crm:1", "days": "mon", "from": "1:00", "to": "2:00"}
    assert problems("maintenance", "weekly", {**weekly, "except_dates": "2026-12-24, xmas"}) == [
        "except_dates: 'xmas' is not a date (write dates like 2026-12-24, comma-separated)"
    ]


@pytest.mark.parametrize(
    ("form", "entered", "problem"),
    [
        ("weekly", {"days": "mon, funday", "from": "1:00", "to": "2:00"}, "not a day of the week"),
        ("weekly", {"days": "mon", "from": "25:00", "to": "2:00"}, "'25:00' is not a time of day"),
        (
            "once",
            {"start": "2026-12-24 18:00Z", "end": "2026-12-24 17:00Z"},
            "end is not after start (swap start and end)",
        ),
        ("cron", {"cron": "0 2 * * *"}, "missing duration"),
        ("once", {"start": "1800-01-01 00:00Z", "end": "2026-01-01 00:00Z"}, "out of range"),
    ],
)
def test_config_validates_what_converted(form: str, entered: dict[str, str], problem: str) -> None:
    found = problems("maintenance", form, {"name": "x", "flows": "crm:1", **entered})
    assert len(found) == 1
    assert problem in found[0]
