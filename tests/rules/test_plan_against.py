"""`flowtui plan --against OLD.toml`: what a change to the file does, end to end (no
network, no store), over a fixed far-away week."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui.cli import main
from flowtui.config import Config
from flowtui.plan_diff import diff_plans

FROM = "2031-03-03T00:00:00+00:00"  # a Monday, far from any date the suite runs on
SUNDAY = """
[[maintenance]]
name = "sunday"
flows = ["s:1", "crm:1"]
cron = "0 2 * * SUN"
duration = "2h"
"""


@pytest.fixture
def files(tmp_path: Path, make_config_text: Callable[..., str]) -> Any:
    """`files(old_rules, new_rules)` → (old path, new path): the rules in UTC with the
    accounts of `make_config` (`s`: Diga, `crm`: Bitrix24 flows 1-3)."""

    def write(old: str, new: str) -> tuple[Path, Path]:
        paths = tmp_path / "old.toml", tmp_path / "new.toml"
        for path, rules in zip(paths, (old, new), strict=True):
            path.write_text(make_config_text(rules, "UTC"))
        return paths

    return write


def against(old: Path, new: Path, *options: str) -> tuple[int, str, str]:
    args = ["--config", str(new), "plan", "--against", str(old), "--from", FROM, *options]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def changes(old: Path, new: Path, *options: str) -> list[dict[str, Any]]:
    code, out, err = against(old, new, "--json", *options)
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["changed"] is True
    assert document["from"] == FROM
    return document["changes"]


def test_a_window_moved_by_an_hour_shows_as_moved(files: Any) -> None:
    old, new = files(SUNDAY, SUNDAY.replace("0 2 * * SUN", "0 3 * * SUN"))
    found = changes(old, new)
    assert {change["kind"] for change in found} == {"moved"}
    assert sorted((c["flow"], c["old"]["at"], c["new"]["at"]) for c in found) == [
        ("crm:1", "2031-03-09T02:00:00+00:00", "2031-03-09T03:00:00+00:00"),
        ("crm:1", "2031-03-09T04:00:00+00:00", "2031-03-09T05:00:00+00:00"),
        ("s:1", "2031-03-09T02:00:00+00:00", "2031-03-09T03:00:00+00:00"),
        ("s:1", "2031-03-09T04:00:00+00:00", "2031-03-09T05:00:00+00:00"),
    ]
    assert all(c["old"]["from"] == c["new"]["from"] for c in found)
    code, out, _ = against(old, new)
    assert code == 1
    assert out.splitlines()[0] == (
        "4 changes against old.toml over the 168 hours from 2031-03-03 00:00 UTC"
    )
    assert out.count("moved") == 4
    assert "Sun 2031-03-09 02:00 UTC: restore → disabled  ⇒  Sun 2031-03-09 03:00 UTC (+1h)" in out


def test_a_window_moved_across_the_horizon_end_is_still_moved(files: Any) -> None:
    old, new = files(SUNDAY, SUNDAY.replace("0 2 * * SUN", "0 23 * * SAT"))
    # The horizon ends on Sunday 01:00: the new start (Saturday 23:00) is inside, the old
    # one (Sunday 02:00) outside.
    found = changes(old, new, "--hours", str(6 * 24 + 1))
    starts = [c for c in found if c["new"]["at"] == "2031-03-08T23:00:00+00:00"]
    assert [c["kind"] for c in starts] == ["moved", "moved"]
    assert {c["old"]["at"] for c in starts} == {"2031-03-09T02:00:00+00:00"}


FREEZE_AND_LAUNCH = """
[[maintenance]]
name = "freeze"
flows = ["s:1"]
start = 2031-03-04T00:00:00Z
end = 2031-03-06T00:00:00Z
state = "disabled"

[[maintenance]]
name = "launch"
flows = ["s:1"]
start = 2031-03-05T00:00:00Z
end = 2031-03-07T00:00:00Z
state = "enabled"
priority = 5
"""


def test_a_priority_change_that_flips_the_winner_shows(files: Any) -> None:
    old, new = files(FREEZE_AND_LAUNCH, FREEZE_AND_LAUNCH.replace("priority = 5", "priority = -1"))
    found = changes(old, new)
    winners = [change for change in found if change["kind"] == "winner"]
    assert winners == [
        {
            "kind": "winner",
            "flow": "s:1",
            "start": "2031-03-05T00:00:00+00:00",
            "end": "2031-03-06T00:00:00+00:00",
            "old_rule": "launch",
            "new_rule": "freeze",
            "old_state": "enabled",
            "new_state": "disabled",
        }
    ]
    # The flow is enabled a day later (when the freeze ends), and after both windows the
    # freeze's `after` now outranks the launch's.
    transitions = {(c["kind"], c["rule"]) for c in found if c["kind"] != "winner"}
    assert transitions == {("moved", "launch"), ("removed", "launch"), ("added", "freeze")}
    code, out, _ = against(old, new, "--format", "markdown")
    assert code == 1
    lines = out.splitlines()
    assert lines[2:4] == ["| flow | change | rule | old | new |", "|---|---|---|---|---|"]
    assert (
        "| s:1 | winner changed | launch → freeze | Wed 2031-03-05 00:00 UTC – Thu 2031-03-06"
        " 00:00 UTC: launch (enabled) | freeze (disabled) |"
    ) in lines


def test_an_unchanged_file_exits_0(files: Any) -> None:
    old, new = files(SUNDAY + FREEZE_AND_LAUNCH, SUNDAY + FREEZE_AND_LAUNCH)
    assert against(old, new) == (
        0,
        "no change against old.toml over the 168 hours from 2031-03-03 00:00 UTC\n",
        "",
    )
    code, out, _ = against(old, new, "--json")
    assert (code, json.loads(out)["changes"], json.loads(out)["changed"]) == (0, [], False)
    code, out, _ = against(old, new, "--format", "markdown")
    assert code == 0
    assert "|" not in out


NIGHTLY_CRON = """
[[maintenance]]
name = "nightly"
flows = ["s:*"]
cron = "0 22 * * MON-FRI"
duration = "8h"
"""
NIGHTLY_WEEKLY = """
[[maintenance]]
name = "nightly"
flows = ["s:*"]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "22:00"
to = "06:00"
"""


def test_a_rule_rewritten_in_another_form_is_compared_by_its_effect(files: Any) -> None:
    old, new = files(NIGHTLY_CRON, NIGHTLY_WEEKLY)
    assert against(old, new)[0] == 0
    old, new = files(NIGHTLY_CRON, NIGHTLY_WEEKLY.replace('"fri"]', '"fri", "sat"]'))
    found = changes(old, new)
    assert [(c["kind"], c["new"]["at"]) for c in found] == [
        ("added", "2031-03-08T22:00:00+00:00"),
        ("added", "2031-03-09T06:00:00+00:00"),
    ]


SWITCH = """
[[ab_switch]]
name = "alternate"
a = ["s:5"]
b = ["s:6"]
every = "12h"
start = 2031-01-01T00:00:00Z
"""


def test_governed_released_and_switch_periods(files: Any) -> None:
    old = NIGHTLY_CRON + SUNDAY + SWITCH
    new = (
        NIGHTLY_CRON
        + SUNDAY.replace('"crm:1"]', '"crm:2", "s:7"]')
        + SWITCH.replace('"12h"', '"8h"')
    )
    found = changes(*files(old, new))
    governing = {(c["kind"], c["flow"]) for c in found if c["kind"] in ("governed", "released")}
    # s:7 was governed before, by nightly through s:*: naming it changes nothing there.
    assert governing == {("governed", "crm:2"), ("released", "crm:1")}
    assert [c for c in found if c["kind"] == "period"] == [
        {
            "kind": "period",
            "rule": "alternate",
            "old": "A, B, … 12h each from 2031-01-01T00:00:00+00:00 (UTC)",
            "new": "A, B, … 8h each from 2031-01-01T00:00:00+00:00 (UTC)",
            "flows": ["s:5", "s:6"],
        }
    ]
    assert {c["flow"] for c in found if c.get("rule") == "sunday"} == {"crm:1", "crm:2", "s:7"}


def test_the_state_at_the_start_is_compared(files: Any) -> None:
    old, new = files(SUNDAY, SWITCH)
    found = changes(old, new)
    at_start = [c for c in found if c["kind"] == "at_start"]
    assert {(c["flow"], c["old_state"], c["new_state"]) for c in at_start} == {
        ("s:5", "untouched", "enabled"),
        ("s:6", "untouched", "disabled"),
    }


def test_problems_in_both_files_are_located_and_exit_2(files: Any) -> None:
    old, new = files(SUNDAY.replace("duration", "duraton"), SUNDAY.replace("0 2 *", "0 25 *"))
    code, out, err = against(old, new)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{old}:{line_of('duraton', old)}:1: error: unknown key 'duraton'")
    assert lines[1].startswith(f"{new}:{line_of('cron', new)}:1: error: ")
    missing = Path(str(old) + ".missing")
    code, _, err = against(missing, new)
    assert code == 2
    assert err.startswith(f"{missing}:1:1: error: cannot read the file")


def line_of(key: str, path: Path) -> int:
    """The line number of `key = …` in the file at `path`."""
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(f"{key} ="))


def test_a_horizon_over_a_year_is_refused_with_a_hint(files: Any) -> None:
    old, new = files(SUNDAY, SUNDAY)
    code, _, err = against(old, new, "--hours", str(400 * 24))
    assert code == 2
    assert err == (
        "flowtui: error: --hours 9600 is over a year (at most 8784); compare a year at a time"
        " with --from\n"
    )


def test_format_needs_against() -> None:
    result = CliRunner().invoke(main, ["plan", "--format", "markdown"])
    assert result.exit_code == 2
    assert "--format applies to --against" in result.stderr


WEEKDAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    day=st.integers(0, 6),
    hour=st.integers(0, 17),
    minute=st.sampled_from([0, 15, 30, 45]),
    length=st.integers(1, 3),
    shift=st.integers(1, 3),
)
def test_moving_every_window_gives_only_moves_and_a_rewrite_gives_nothing(
    make_config: Callable[..., Config], day: int, hour: int, minute: int, length: int, shift: int
) -> None:
    def cron_rule(at_hour: int) -> str:
        cron = f"{minute} {at_hour} * * {WEEKDAY_NAMES[day]}"
        return (
            f'[[maintenance]]\nname = "w"\nflows = ["s:1"]\ncron = "{cron}"\nduration = "{length}h"'
        )

    weekly = (
        f'[[maintenance]]\nname = "w"\nflows = ["s:1"]\ndays = ["{WEEKDAY_NAMES[day].lower()}"]\n'
        f'from = "{hour:02}:{minute:02}"\nto = "{hour + length:02}:{minute:02}"'
    )
    before = make_config(cron_rule(hour), "UTC")
    start = datetime.fromisoformat(FROM)
    for hours in (24.0, 200.0):
        end = start + timedelta(hours=hours)
        assert not diff_plans(before, make_config(weekly, "UTC"), start, end).changed
        moved = diff_plans(before, make_config(cron_rule(hour + shift), "UTC"), start, end)
        assert (moved.governing, moved.winners, moved.periods) == ((), (), ())
        assert moved.transitions or hours < 168  # a week holds a window
        for change in moved.transitions:
            assert change.kind == "moved"
            assert change.old is not None
            assert change.new is not None
            assert change.new.at - change.old.at == timedelta(hours=shift)
