"""Help, details, audit, override, schedules (pause, the rule form) and the palette."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.command import CommandList
from textual.widgets import DataTable, Input, Static

from flowtui.model import FlowRef
from flowtui.store import SqliteStore
from flowtui.tui.screens.audit import AuditScreen
from flowtui.tui.screens.details import DetailsScreen
from flowtui.tui.screens.help import HelpScreen
from flowtui.tui.screens.override import OverrideScreen
from flowtui.tui.screens.rule_form import RuleFormScreen
from flowtui.tui.screens.schedules import SchedulesScreen
from tui.helpers import FIXED_NOW, MakeApp, diga_flows, loaded, pick_diga, put_cursor, wait_for

RULES = """
[[maintenance]]
name = "sunday-db"
flows = ["support:*"]
cron = "0 2 * * SUN"
duration = "2h"

[[ab_switch]]
name = "checkout"
a = ["crm:517"]
b = ["crm:518"]
b_cron = "0 0 * * SAT"
b_duration = "48h"
"""


def column(table: DataTable[Any], index: int) -> list[str]:
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


async def test_help_lists_the_active_keymap(make_app: MakeApp) -> None:
    app = make_app(extra='\n[keys]\ntoggle = "T"\n')
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        keys = dict(zip(column(table, 3), column(table, 0), strict=True))
        assert keys["toggle"] == "T"
        assert keys["enable"] == "e"
        assert keys["filter"] == "/"
        assert set(keys) >= {"publish", "override", "mark", "details", "pause", "palette", "quit"}
        assert keys["rule_pause"] == "space"
        await pilot.press("escape")
        assert app.screen is app.main


async def test_details_show_platform_json_and_audit_history(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="DISABLED", published=True)
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, f"support:{flow_id}")
        await pilot.press("e")
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["status"] == "ENABLED", "enable")
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.fresh, "the fresh read")
        assert f'"id": "{flow_id}"' in screen.json_text
        assert '"status": "ENABLED"' in screen.json_text
        history = screen.query_one("#history", DataTable)
        assert column(history, 2) == ["outcome", "intent"]
        await pilot.press("escape")
        assert app.screen is app.main


async def test_audit_screen_is_newest_first_and_live(emu: Any, make_app: MakeApp) -> None:
    enabled = [i for i, f in diga_flows(emu).items() if f["status"] == "ENABLED"][:2]
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, f"support:{enabled[0]}")
        await pilot.press("d")
        await wait_for(pilot, lambda: len(app.control.audit()) == 2, "the first change")
        await pilot.press("a")
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one(DataTable)
        assert column(table, 2) == ["outcome", "intent"]
        app.change_flows("disable", [FlowRef("support", enabled[1])])  # under the screen
        await wait_for(pilot, lambda: table.row_count == 4, "the live rows")
        ids = [int(value) for value in column(table, 0)]
        assert ids == sorted(ids, reverse=True)


async def test_override_key_pins_flows(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, f"support:{flow_id}")
        await pilot.press("o")
        assert isinstance(app.screen, OverrideScreen)
        app.screen.query_one("#until", Input).value = "nonsense"
        await pilot.click("#pin")
        assert "neither a duration" in str(app.screen.query_one("#error", Static).content)
        until = app.screen.query_one("#until", Input)
        until.value = "90m"
        until.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main, "the modal to close")
        store = SqliteStore.in_dir(app.control.state_dir)
        try:
            (pin,) = store.overrides(now=app.now())
        finally:
            store.close()
        assert pin.state == "disabled"
        assert 85 * 60 < (pin.until - app.now()).total_seconds() <= 90 * 60
        await wait_for(
            pilot, lambda: app.rows[f"support:{flow_id}"].governance.rule == "override", "row"
        )


async def test_schedules_list_rules_and_pause_writes_the_file(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(extra=RULES, clock=lambda: FIXED_NOW)
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SchedulesScreen)
        table = screen.query_one("#rules", DataTable)
        assert column(table, 0) == ["sunday-db", "checkout"]
        assert column(table, 4)[0] == "Sun 30 02:00 → disabled, Sun 30 04:00 → restore"
        timeline = str(screen.query_one("#timeline", Static).content)
        assert "▼ now" in timeline
        assert "sunday-db" in timeline
        await pilot.press("space")
        await pilot.pause()
        assert column(table, 5)[0] == "paused"
        assert tomllib.loads(path.read_text())["maintenance"][0]["paused"] is True
        assert "paused" not in tomllib.loads(path.with_name("schedules.toml.bak").read_text())
        assert app.control.config.maintenance[0].paused


async def test_rule_form_validates_before_saving(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(extra=RULES)
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        await loaded(pilot)
        await pilot.press("s", "n")
        form = app.screen
        assert isinstance(form, RuleFormScreen)
        values = {"name": "nightly", "flows": "crm:519, crm:520", "cron": "0 25 * * *"}
        for key, value in values.items():
            form.query_one(f"#{key}", Input).value = value
        form.query_one("#duration", Input).value = "1h"
        before = path.read_text()
        await pilot.press("ctrl+s")
        assert "higher than the maximum" in str(form.query_one("#problems", Static).content)
        assert path.read_text() == before
        form.query_one("#cron", Input).value = "0 23 * * *"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SchedulesScreen), "the save")
        saved = tomllib.loads(path.read_text())["maintenance"]
        assert saved[-1] == {
            "name": "nightly",
            "flows": ["crm:519", "crm:520"],
            "cron": "0 23 * * *",
            "duration": "1h",
        }
        assert [rule.name for rule in app.control.config.rules][-2:] == ["nightly", "checkout"]
        table = app.screen.query_one("#rules", DataTable)
        table.move_cursor(row=0)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, RuleFormScreen)
        assert form.query_one("#cron", Input).value == "0 2 * * SUN"
        form.query_one("#duration", Input).value = "3h"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SchedulesScreen), "the edit")
        assert tomllib.loads(path.read_text())["maintenance"][0]["duration"] == "3h"


async def test_palette_runs_the_same_actions(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"audit")
        hits = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: hits.option_count > 0, "hits")
        assert "Audit" in str(hits.get_option_at_index(0).prompt)
        assert "key: a" in str(hits.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit screen")


async def test_q_quits(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_rule_form_adds_an_ab_switch(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(extra=RULES)
    path = tmp_path / "schedules.toml"
    async with app.run_test(size=(160, 60)) as pilot:
        await loaded(pilot)
        await pilot.press("s", "b")
        form = app.screen
        assert isinstance(form, RuleFormScreen)
        values = {"name": "weekend", "a": "crm:519", "b": "crm:519", "b_cron": "0 0 * * SAT"}
        for key, value in values.items():
            form.query_one(f"#{key}", Input).value = value
        form.query_one("#b_duration", Input).value = "48h"
        await pilot.press("ctrl+s")
        assert "both groups" in str(form.query_one("#problems", Static).content)
        form.query_one("#b", Input).value = "crm:520"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SchedulesScreen), "the save")
        switches = tomllib.loads(path.read_text())["ab_switch"]
        assert switches[-1] == {
            "name": "weekend",
            "a": ["crm:519"],
            "b": ["crm:520"],
            "b_cron": "0 0 * * SAT",
            "b_duration": "48h",  # as typed: the file is the operator's
        }


async def test_quitting_during_a_refresh_and_a_scheduler_start_is_clean(
    emu: Any, make_app: MakeApp
) -> None:
    app = make_app(scheduler=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        emu.set_fault("diga", latency_ms=300)
        await pilot.press("r")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
