"""The app never shows a row for a flow no account lists: a failed change the scheduler
reports for a flow that does not exist (a pin on it, a rule naming it) adds no row."""

from __future__ import annotations

from typing import Any

from flowtui.model import FlowRef, State
from tui.helpers import MakeApp, loaded


async def test_a_report_on_a_missing_flow_adds_no_row(emu: Any, make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        listed = next(iter(app.rows.values())).ref
        app.show_state(FlowRef("support", "doesnotexist"), State.UNKNOWN, "not found")
        app.show_state(listed, State.DISABLED)
        await pilot.pause()
        assert "support:doesnotexist" not in app.rows
        assert app.rows[str(listed)].state is State.DISABLED
