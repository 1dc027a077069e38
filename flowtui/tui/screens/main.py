"""The main screen: the flow table, the filter line and the status bar. Flow keys are bound
on the table as `screen.<action>` and run the app's change pipeline."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input

from flowtui.tui.widgets.flow_table import FlowTable
from flowtui.tui.widgets.main_footer import MainFooter
from flowtui.tui.widgets.status_bar import StatusBar


class MainScreen(Screen[None]):
    """The flow table, the filter line and the status bar."""

    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "#flows"
    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding runs as the key arrives, before the keys typed right after it
        # are passed on: those go to the filter line, not to the table (`/abc` typed fast).
        Binding("slash", "filter", "Filter", id="filter", priority=True),
        Binding("r", "app.refresh_now", "Refresh", id="refresh"),
        Binding("s", "app.schedules", "Schedules", id="schedules"),
        Binding("a", "app.audit", "Audit", id="audit"),
        Binding("P", "app.pause", "Pause", id="pause"),
        Binding("escape", "clear", "Leave filter / clear marks, filter", id="clear", show=False),
    ]

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self.zone = zone

    def compose(self) -> ComposeResult:
        yield Header(icon="⏻")
        with Vertical(id="body"):
            yield FlowTable(self.zone, id="flows")
            yield Input(placeholder="filter: account, platform, state or name", id="filter")
            yield StatusBar(self.zone, id="status")
        yield MainFooter(compact=True)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        self.set_focus(box)  # at once: `focus()` waits for the keys already queued

    def action_clear(self) -> None:
        """Escape: leave the filter line (keeping the filter); on the table, clear the
        marks, or else the filter."""
        box = self.query_one("#filter", Input)
        table = self.query_one(FlowTable)
        if box.has_focus:
            box.display = bool(box.value)
            table.focus()
        elif table.marked:
            table.clear_marks()
        else:
            box.value = ""
            box.display = False
            table.filter("")
            self.app.show_counts()  # type: ignore[attr-defined]

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as you type (a pass over the rows, no widget per row: fast at 10,000)."""
        if event.input.id == "filter":
            self.query_one(FlowTable).filter(event.value)
            self.app.show_counts()  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = bool(event.value)
            self.query_one(FlowTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Publish is offered only for flows whose platform has a publish step; in the
        filter line, the filter key types itself."""
        if action == "filter":
            return not self.query_one("#filter", Input).has_focus
        if action != "publish":
            return True
        table = self.query_one(FlowTable)
        keys = table.marked or ({table.cursor_key} if table.cursor_key else set())
        can_publish = self.app.can_publish  # type: ignore[attr-defined]
        return any(can_publish(key.partition(":")[0]) for key in keys)

    # Flow keys are bound on the table as `screen.<action>`; they run the app's pipeline.
    def action_change(self, action: str) -> None:
        self.app.action_change(action)  # type: ignore[attr-defined]

    def action_publish(self) -> None:
        self.app.action_publish()  # type: ignore[attr-defined]

    def action_override(self) -> None:
        self.app.action_override()  # type: ignore[attr-defined]

    def action_details(self) -> None:
        self.app.action_details()  # type: ignore[attr-defined]
