"""How the main screens look (pytest-textual-snapshot; `--snapshot-update` after a wanted
change). Deterministic: seeded emulator data, a fixed clock, no scheduler, no live time."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tui.helpers import FIXED_NOW, MakeApp, loaded, pick_diga

SIZE = (150, 40)
RULES = """
[flows]
checkout_a = "support:{flow}"

[[maintenance]]
name = "sunday-db"
flows = ["support:*"]
cron = "0 2 * * SUN"
duration = "2h"

[[maintenance]]
name = "nightly-batch"
flows = ["ops:*"]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "22:00"
to = "06:00"

[[ab_switch]]
name = "checkout"
a = ["checkout_a"]
b = ["crm:517"]
b_cron = "0 0 * * SAT"
b_duration = "48h"
"""


def fixed_app(emu: Any, make_app: MakeApp, **options: Any) -> Any:
    flow = pick_diga(emu, status="ENABLED")
    return make_app(extra=RULES.format(flow=flow), clock=lambda: FIXED_NOW, **options)


async def settle(pilot: Pilot[Any]) -> None:
    await loaded(pilot)
    await pilot.pause(0.2)


def test_main_screen(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    assert snap_compare(fixed_app(emu, make_app), terminal_size=SIZE, run_before=settle)


def test_help_screen(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    app = fixed_app(emu, make_app)
    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE, run_before=settle)


def test_schedules_screen_with_timeline(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    assert snap_compare(
        fixed_app(emu, make_app), press=["s"], terminal_size=SIZE, run_before=settle
    )


def test_confirmation_offers_an_override(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    async def governed_row(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app = pilot.app
        key = app.control.config.flows["checkout_a"]  # type: ignore[attr-defined]
        app.table.move_cursor(row=app.table.get_row_index(key))  # type: ignore[attr-defined]
        await pilot.press("d")
        await pilot.pause(0.2)

    assert snap_compare(
        fixed_app(emu, make_app, confirm=True), terminal_size=SIZE, run_before=governed_row
    )


def test_read_only_filtered(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    assert snap_compare(
        fixed_app(emu, make_app, read_only=True),
        press=["slash", *"crm"],
        terminal_size=SIZE,
        run_before=settle,
    )


async def new_window_form(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("s", "n")
    await pilot.pause(0.2)
    pilot.app.screen.query_one("#name", Input).cursor_blink = False  # (focused: no blink)
    await pilot.pause(0.1)


def test_main_screen_at_80x24(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    """The smallest usual terminal: STATE, NAME and the main keys stay readable."""
    assert snap_compare(fixed_app(emu, make_app), terminal_size=(80, 24), run_before=settle)


def test_main_screen_at_200x50(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    """A wide terminal: every column whole, nothing cut."""
    assert snap_compare(fixed_app(emu, make_app), terminal_size=(200, 50), run_before=settle)


def test_rule_form_at_80x24(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    """The form scrolls inside the screen; ctrl+s Save stays in the footer."""
    app = fixed_app(emu, make_app)
    assert snap_compare(app, terminal_size=(80, 24), run_before=new_window_form)


def test_rule_form_at_200x50(emu: Any, make_app: MakeApp, snap_compare: Any) -> None:
    app = fixed_app(emu, make_app)
    assert snap_compare(app, terminal_size=(200, 50), run_before=new_window_form)
