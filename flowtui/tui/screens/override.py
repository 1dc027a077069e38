"""`o`: pin flows at a state (or "skip": don't touch) until a time, or clear a pin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from flowtui import typed_time
from flowtui.model import FlowRef, State
from flowtui.store import SKIP

STATES = (str(State.ENABLED), str(State.DISABLED), SKIP)


@dataclass(frozen=True)
class OverrideRequest:
    refs: list[FlowRef]
    state: str
    until: datetime
    clear: bool = False


class OverrideScreen(ModalScreen[OverrideRequest | None]):
    CSS_PATH = "override.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="override_cancel"),
    ]

    def __init__(self, refs: list[FlowRef], now: datetime, zone: ZoneInfo) -> None:
        super().__init__()
        self.refs = refs
        self.now = now
        self.zone = zone  # settings.timezone: a time typed without an offset is read in it

    def compose(self) -> ComposeResult:
        names = ", ".join(str(ref) for ref in self.refs[:3]) + (" …" if len(self.refs) > 3 else "")
        with Vertical(id="dialog"):
            yield Static(f"Override {len(self.refs)} flow(s): {names}", id="title", markup=False)
            yield Label("state")
            yield Select([(s, s) for s in STATES], value=STATES[1], allow_blank=False, id="state")
            yield Label(
                f"until (a duration like 2h, or a time like 2026-12-24 18:00 — {self.zone.key})"
            )
            yield Input(value="2h", id="until")
            yield Static("", id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Pin", id="pin", variant="primary")
                yield Button("Clear override", id="clear")
                yield Button("Cancel", id="cancel", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(OverrideRequest(self.refs, "", self.now, clear=True))
        else:
            self.submit()

    def on_input_submitted(self) -> None:
        self.submit()

    def submit(self) -> None:
        try:
            until = typed_time.until(self.query_one("#until", Input).value, self.now, self.zone)
        except ValueError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        state = str(self.query_one("#state", Select).value)
        self.dismiss(OverrideRequest(self.refs, state, until))

    def action_cancel(self) -> None:
        self.dismiss(None)
