"""`flowtui calendar`: windows and A/B periods as RFC 5545, read back with icalendar's
own parser, over fixed far-away dates."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner

from flowtui.calendar_export import calendar_ics
from flowtui.cli import main
from flowtui.config import Config, parse_config

FROM = datetime(2031, 3, 24, tzinfo=UTC)  # a Monday; Berlin springs forward on the 30th
RULES = """\
[[maintenance]]
name = "sunday"
flows = ["s:1", "crm:1"]
cron = "30 2 * * SUN"
duration = "2h"

[[maintenance]]
name = "nightly"
flows = ["s:2"]
days = ["mon", "wed", "fri"]
from = "22:00"
to = "06:00"
timezone = "America/New_York"
state = "enabled"
after = "disabled"

[[ab_switch]]
name = "checkout"
a = ["s:3"]
b = ["s:4"]
b_cron = "0 0 * * SAT"
b_duration = "48h"

[[ab_switch]]
name = "imports"
a = ["crm:2"]
b = ["crm:3"]
every = "12h"
start = 2031-03-20T12:00:00+01:00
"""


@pytest.fixture
def config_path(tmp_path: Path, make_config_text: Callable[..., str]) -> Path:
    """The rules above in Europe/Berlin, with the accounts of `make_config`."""
    path = tmp_path / "schedules.toml"
    path.write_text(make_config_text(RULES))
    return path


def run(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout_bytes, result.stderr


def events(ics: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(ics).walk("VEVENT"))


def rule_of(event: Any) -> str:
    return str(event["summary"]).split(":")[0]


def test_the_calendar_has_the_instants_of_plan_json(config_path: Path, tmp_path: Path) -> None:
    start, days = FROM.isoformat(), 14
    common = ("--config", str(config_path), "--state-dir", str(tmp_path / "no-store"))
    code, ics, _ = run(*common, "calendar", "--from", start, "--days", str(days))
    assert code == 0
    code, plan, _ = run(*common, "plan", "--from", start, "--hours", str(days * 24), "--json")
    assert code == 0
    planned: dict[str, set[datetime]] = defaultdict(set)
    for line in plan.decode().splitlines():
        row = json.loads(line)
        planned[row["rule"]].add(datetime.fromisoformat(row["at"]))
    end = FROM + timedelta(days=days)
    found: dict[str, set[datetime]] = defaultdict(set)
    for event in events(ics):
        for key in ("dtstart", "dtend"):
            moment = event.decoded(key)
            assert moment.utcoffset() == timedelta(0)
            if FROM <= moment < end:
                found[rule_of(event)].add(moment)
    assert found == planned
    assert set(found) == {"sunday", "nightly", "checkout", "imports"}
    # 02:30 does not exist in Berlin on 2031-03-30: that window opens at 03:00 CEST.
    sundays = sorted(e.decoded("dtstart") for e in events(ics) if rule_of(e) == "sunday")
    assert sundays[0] == datetime(2031, 3, 30, 1, 0, tzinfo=UTC)


def test_uids_are_stable_across_ranges_and_unique(config_path: Path) -> None:
    config = parse_config(config_path.read_text())
    first = events(calendar_ics(config, FROM, FROM + timedelta(days=10)))
    later = events(calendar_ics(config, FROM + timedelta(days=3), FROM + timedelta(days=13)))
    for calendar in (first, later):
        uids = [str(event["uid"]) for event in calendar]
        assert len(uids) == len(set(uids))
    by_uid = {str(event["uid"]): event for event in first}
    shared = [event for event in later if str(event["uid"]) in by_uid]
    assert len(shared) >= 8
    for event in shared:
        twin = by_uid[str(event["uid"])]
        assert (event.decoded("dtstart"), event.decoded("dtend")) == (
            twin.decoded("dtstart"),
            twin.decoded("dtend"),
        )


def test_events_name_rule_state_flows_and_zone(config_path: Path) -> None:
    calendar = icalendar.Calendar.from_ical(
        calendar_ics(parse_config(config_path.read_text()), FROM, FROM + timedelta(days=7))
    )
    assert str(calendar["x-wr-timezone"]) == "Europe/Berlin"
    nightly = next(e for e in calendar.walk("VEVENT") if rule_of(e) == "nightly")
    assert str(nightly["description"]).splitlines() == [
        "rule: nightly (maintenance window)",
        "state: enabled during the window, then disabled",
        "flows: s:2",
        "zone: America/New_York, Mon 2031-03-24 22:00 EDT – Tue 2031-03-25 06:00 EDT",
    ]
    assert nightly.decoded("dtstart") == datetime(2031, 3, 25, 2, 0, tzinfo=UTC)
    checkout = [e for e in calendar.walk("VEVENT") if rule_of(e) == "checkout"]
    assert [str(e["summary"]) for e in checkout] == [
        "checkout: group A on",
        "checkout: group B on",
        "checkout: group A on",
    ]
    assert "enabled: s:4\ndisabled: s:3" in str(checkout[1]["description"])
    # The A period that is open at the start began when the previous B window ended.
    assert checkout[0].decoded("dtstart") == datetime(2031, 3, 23, 23, 0, tzinfo=UTC)


def test_an_alternation_starts_with_a_at_its_start(config_path: Path) -> None:
    week_before = FROM - timedelta(days=7)
    ics = calendar_ics(parse_config(config_path.read_text()), week_before, FROM)
    imports = [e for e in events(ics) if rule_of(e) == "imports"]
    assert str(imports[0]["summary"]) == "imports: group A on"
    assert imports[0].decoded("dtstart") == datetime(2031, 3, 20, 11, 0, tzinfo=UTC)
    assert [e.decoded("dtend") - e.decoded("dtstart") for e in imports] == [
        timedelta(hours=12)
    ] * len(imports)


def test_many_flows_are_counted(make_config: Callable[..., Config]) -> None:
    refs = ", ".join(f'"s:{n}"' for n in range(12))
    config = make_config(
        f'[[maintenance]]\nname = "big"\nflows = [{refs}]\ncron = "0 1 * * *"\nduration = "1h"'
    )
    (event,) = events(calendar_ics(config, FROM, FROM + timedelta(hours=23)))
    assert "flows: 12 flows" in str(event["description"])


def test_rule_filter_unknown_rule_and_long_range(config_path: Path) -> None:
    common = ("--config", str(config_path), "calendar", "--from", FROM.isoformat())
    code, ics, _ = run(*common, "--rule", "sunday")
    assert code == 0
    assert {rule_of(event) for event in events(ics)} == {"sunday"}
    code, _, err = run(*common, "--rule", "sundy")
    assert code == 2
    assert err == "flowtui: error: no rule named 'sundy' (did you mean 'sunday'?)\n"
    code, _, err = run(*common, "--days", "400")
    assert code == 2
    assert "over a year" in err
