"""At 80×24, the smallest terminal flowtui supports: the way to help and out stays in the
footer, and the rule form's Save stays on screen however many fields it has."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from tui.helpers import MakeApp, loaded
from tui.test_rule_form import open_form

SMALL = (80, 24)


def on_screen(widget: Widget) -> bool:
    """Drawn where a person sees it: not scrolled away, not covered."""
    region = widget.region
    if not region.area:
        return False
    under, _ = widget.screen.get_widget_at(region.x + 1, region.y + region.height // 2)
    return under is widget or widget in under.ancestors


async def test_help_and_quit_stay_in_the_footer_at_80_columns(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        await pilot.pause()
        keys = {key.action: key for key in app.screen.query(FooterKey)}
        assert {"help", "quit", "screen.change('enable')"} <= set(keys)
        for action in ("help", "quit"):
            assert on_screen(keys[action]), action
            assert keys[action].region.right <= SMALL[0]


async def test_the_rule_forms_save_stays_visible_and_ctrl_s_is_offered(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        form = await open_form(pilot, "n", "weekly")  # the form with the most fields
        await pilot.pause()
        assert on_screen(form.query_one("#save", Button))
        footer = {key.action: key for key in form.query(FooterKey)}
        assert on_screen(footer["save"])
        await pilot.press("ctrl+s")  # nothing filled in: the problems show, Save still in view
        await pilot.pause()
        assert on_screen(form.query_one("#problems"))
        assert on_screen(form.query_one("#save", Button))
