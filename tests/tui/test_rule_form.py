"""The rule form in the app: every window form created through it and read back with
load_config, an existing weekly rule pre-filled, bad values kept in the form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from flowtui.config import load_config
from flowtui.tui.rule_edits import WINDOW_FORMS
from flowtui.tui.screens.rule_form import RuleFormScreen
from flowtui.tui.screens.schedules import SchedulesScreen
from tui.helpers import MakeApp, loaded, wait_for
from tui.test_snapshots import SIZE, fixed_app, settle

WEEKLY = """
[[maintenance]]
name = "nightly-batch"
flows = ["ops:*"]
days = ["mon", "fri"]
from = "22:00"
to = "06:00"
except_dates = [2026-12-24]
priority = 2
timezone = "UTC"
paused = true
"""


async def open_form(pilot: Pilot[Any], key: str, form: str | None = None) -> RuleFormScreen:
    """From the main screen: the schedules screen, then `key` (n, b or e); choose the
    window form with the keyboard, the way an operator does."""
    await loaded(pilot)
    await pilot.press("s", key)
    screen = pilot.app.screen
    assert isinstance(screen, RuleFormScreen)
    if form is not None:
        screen.query_one("#window", Select).focus()
        steps = list(WINDOW_FORMS[screen.kind]).index(form)
        await pilot.press("enter", *["down"] * steps, "enter")
        assert screen.window_form == form
    return screen


def fill(form: RuleFormScreen, **values: str) -> None:
    for key, value in values.items():
        form.query_one(f"#{key.removesuffix('_')}", Input).value = value


def shown(form: RuleFormScreen) -> set[str]:
    return {row.id.removesuffix("-field") for row in form.query(".field") if row.display}


async def save(pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SchedulesScreen), "the save")


async def test_weekly_window_through_the_form(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        form = await open_form(pilot, "n", "weekly")
        assert shown(form) == {
            *("name", "flows", "days", "from", "to", "except_dates"),
            *("state", "after", "enforce", "priority", "timezone"),
        }
        fill(form, name="nightly", flows="ops:*, crm:517", days="mon, tue, fri")
        fill(form, from_="22:30", to="06:00", except_dates="2026-12-24, 2026-12-31")
        fill(form, priority="5")
        await save(pilot)
    rule = load_config(path).maintenance[-1]
    assert (rule.name, rule.form, rule.flows) == ("nightly", "weekly", ("ops:*", "crm:517"))
    assert (rule.days, rule.from_, rule.to) == (("mon", "tue", "fri"), time(22, 30), time(6))
    assert rule.except_dates == (date(2026, 12, 24), date(2026, 12, 31))
    assert (rule.priority, rule.paused, rule.timezone) == (5, False, None)


async def test_one_off_window_through_the_form(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        form = await open_form(pilot, "n", "once")
        assert {"start", "end"} <= shown(form)
        assert not {"cron", "duration", "days", "except_dates"} & shown(form)
        fill(form, name="freeze", flows="support:*", cron="0 2 * * *")  # cron: hidden, ignored
        fill(form, start="2026-12-24 18:00+01:00", end="2026-12-27T06:00:00+01:00")
        await save(pilot)
        assert "freeze" in str(app.screen.query_one("#rules", DataTable).get_row("freeze"))
    rule = load_config(path).maintenance[-1]
    plus_one = timezone(timedelta(hours=1))
    assert (rule.name, rule.form, rule.cron) == ("freeze", "once", None)
    assert rule.start == datetime(2026, 12, 24, 18, tzinfo=plus_one)
    assert rule.end == datetime(2026, 12, 27, 6, tzinfo=plus_one)
    assert path.with_name("schedules.toml.bak").exists()


async def test_alternate_switch_through_the_form(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        form = await open_form(pilot, "b", "alternate")
        assert {"every", "start"} <= shown(form)
        assert not {"b_cron", "b_duration"} & shown(form)
        fill(form, name="ab", a="crm:517", b="crm:518", every="12h", start="2026-11-01 00:00Z")
        await save(pilot)
    rule = load_config(path).ab_switch[-1]
    assert (rule.name, rule.form, rule.a, rule.b) == ("ab", "alternate", ("crm:517",), ("crm:518",))
    assert (rule.every, rule.start) == (timedelta(hours=12), datetime(2026, 11, 1, tzinfo=UTC))


async def test_an_existing_weekly_rule_is_pre_filled_and_changes_form(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(extra=WEEKLY)
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        form = await open_form(pilot, "e")
        assert form.window_form == "weekly"
        assert {key: value for key, value in form.entered().items() if value} == {
            "name": "nightly-batch",
            "flows": "ops:*",
            "days": "mon, fri",
            "from": "22:00",
            "to": "06:00",
            "except_dates": "2026-12-24",
            "state": "disabled",
            "after": "restore",
            "enforce": "false",
            "priority": "2",
            "timezone": "UTC",
        }
        assert not {"cron", "start"} & shown(form)
        form.query_one("#window", Select).value = "cron"
        await pilot.pause()
        assert {"cron", "duration", "except_dates"} <= shown(form)
        assert not {"days", "from", "to"} & shown(form)
        fill(form, cron="0 22 * * MON", duration="8h", timezone="", priority="")
        await save(pilot)
    rule = load_config(path).maintenance[0]
    assert (rule.form, rule.cron, rule.duration) == ("cron", "0 22 * * MON", timedelta(hours=8))
    assert (rule.days, rule.from_, rule.except_dates) == (None, None, (date(2026, 12, 24),))
    assert (rule.timezone, rule.priority, rule.paused) == (None, 0, True)


async def test_a_bad_value_stays_in_the_form_and_nothing_is_written(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(extra=WEEKLY)
    path = tmp_path / "schedules.toml"
    before = path.read_bytes()
    async with app.run_test(size=(160, 60)) as pilot:
        form = await open_form(pilot, "e")
        fill(form, to="25:00", except_dates="christmas")
        problems = form.query_one("#problems", Static)
        await pilot.press("ctrl+s")
        assert "'christmas' is not a date" in str(problems.content)
        fill(form, except_dates="2026-12-25")
        await pilot.press("ctrl+s")
        assert "'25:00' is not a time of day" in str(problems.content)
        assert app.screen is form
        assert form.query_one("#to", Input).value == "25:00"
        assert path.read_bytes() == before
        assert not path.with_name("schedules.toml.bak").exists()
        fill(form, to="05:00")
        await save(pilot)
    assert load_config(path).maintenance[0].to == time(5)
    assert path.with_name("schedules.toml.bak").read_bytes() == before


def test_form_snapshot_of_a_weekly_rule(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    async def edit_weekly(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("s")
        pilot.app.screen.query_one("#rules", DataTable).move_cursor(row=1)  # nightly-batch
        await pilot.press("e")
        await pilot.pause(0.2)
        pilot.app.screen.query_one("#name", Input).cursor_blink = False  # (focused: no blink)
        await pilot.pause(0.1)

    app = fixed_app(emu, make_app)
    assert snap_compare(app, terminal_size=SIZE, run_before=edit_weekly)
