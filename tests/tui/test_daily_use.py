"""Daily use of the app, as a new user meets it: terminal keys and sorting, confirmations
that say what happens (and none for a no-op), publish offered only where a platform has it,
a failed enable showing the flow's real state, the palette in the words of `?`."""

from __future__ import annotations

from typing import Any

from textual.command import CommandList
from textual.widgets import DataTable, Static

from flowtui.engine.events import PlannedChange
from flowtui.model import State
from flowtui.tui.screens.confirm import ConfirmScreen
from flowtui.tui.screens.schedules import SchedulesScreen
from tui.helpers import MakeApp, diga_flows, loaded, pick_diga, put_cursor, wait_for


async def test_terminal_keys_move_and_sort(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        table = app.table
        await pilot.press("j", "j", "k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.cursor_row > 1
        await pilot.press("greater_than_sign")  # sort by the first column: account
        keys = [table.key_at(i) for i in range(table.row_count)]
        assert keys == sorted(keys, key=lambda key: key.split(":")[0])
        await pilot.press("exclamation_mark")
        assert table.key_at(0).startswith("support:")  # accounts z → a


async def test_confirmation_says_what_happens_and_a_no_op_asks_nothing(
    emu: Any, make_app: MakeApp
) -> None:
    on = pick_diga(emu, status="ENABLED")
    off = pick_diga(emu, status="DISABLED", published=True)
    app = make_app(confirm=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        for flow_id in (on, off):
            await put_cursor(pilot, f"support:{flow_id}")
            await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        asked = str(app.screen.query_one("#question", Static).content)
        assert asked.startswith("Disable 2 flows ")
        assert f"support:{on}" in asked
        assert f"support:{off}" in asked
        assert "1 enabled → disabled" in asked
        assert "1 already disabled (left alone)" in asked
        await pilot.press("escape")  # cancelled: nothing changed, the marks stay
        assert diga_flows(emu)[on]["status"] == "ENABLED"
        await pilot.press("escape")  # the marks go
        await put_cursor(pilot, f"support:{off}")
        await pilot.press("d")  # already disabled: nothing to ask
        done = lambda: any("already 1" in n.message for n in app._notifications)  # noqa: E731
        await wait_for(pilot, done, "the outcome")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_a_failed_enable_of_a_draft_shows_its_state_and_names_the_key(
    emu: Any, make_app: MakeApp
) -> None:
    draft = pick_diga(emu, published=False)
    key = f"support:{draft}"
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, key)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.rows[key].error is not None, "the failure")
        state = app.table.get_cell(key, "state")
        assert "error" not in state
        assert state.startswith("○ disabled") or state.startswith("◌ not_published")
        assert state.endswith("!")
        notes = [n.message for n in app._notifications if n.severity == "error"]
        assert any("press p to publish" in note for note in notes), notes
        assert not any("flowtui publish" in note for note in notes)
        assert diga_flows(emu)[draft]["status"] == "DISABLED"


async def test_publish_is_offered_only_where_the_platform_has_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        offered = lambda: {b.binding.id for b in app.screen.active_bindings.values()}  # noqa: E731
        await put_cursor(pilot, next(k for k in app.rows if k.startswith("support:")))
        assert "publish" in offered()
        await put_cursor(pilot, next(k for k in app.rows if k.startswith("studio:")))
        assert "publish" not in offered()


async def test_the_palette_names_actions_as_help_does_with_their_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        titles = {title: key for title, key, _ in app.palette_commands()}
        described = {description: key for _, key, description, _ in app.keymap_rows()}
        for title in ("Filter", "Mark", "Help", "Enable", "Sort by next column"):
            assert title in titles
            assert title in described
        assert titles["Filter"] == "/"
        assert titles["New window"] == "s then n"
        await pilot.press("ctrl+p", *"new window")
        hits = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: hits.option_count > 0, "hits")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RuleFormScreen", "the form")


async def test_the_schedules_screen_takes_arrows_and_space_at_once(make_app: MakeApp) -> None:
    extra = """
[[maintenance]]
name = "sunday-db"
flows = ["support:*"]
cron = "0 2 * * SUN"
duration = "2h"
"""
    app = make_app(extra=extra)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, SchedulesScreen)
        assert app.focused is app.screen.query_one("#rules", DataTable)
        await pilot.press("space")
        await wait_for(pilot, lambda: app.control.config.rules[0].paused, "the pause")
        assert app.rows  # (the main table is still there underneath)
        assert State.ENABLED in {row.state for row in app.rows.values()}


async def test_read_only_says_what_the_scheduler_would_have_changed(make_app: MakeApp) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        assert "READ-ONLY  changes nothing" in str(app.status.render())
        key = next(iter(app.rows))
        ref = app.rows[key].ref
        for _ in range(2):  # the same flow planned on two passes counts once
            app.scheduler_event(
                PlannedChange(ref, State.ENABLED, State.DISABLED, "nightly", "window", app.now())
            )
        await pilot.pause()
        shown = str(app.status.render())
        assert "would have changed 1 flow(s)" in shown
        assert f"{key} → disabled (nightly)" in shown
