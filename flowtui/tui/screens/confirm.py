"""The confirmation modal for changes; it also offers an override when rules govern a flow."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

CHANGE = "change"
PIN = "pin"  # change, then pin with an override until the rule's next transition


class ConfirmScreen(ModalScreen[str | None]):
    """Answers CHANGE, PIN (only when `pin_label` is given) or None (cancel)."""

    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('change')", "Yes", id="confirm_yes"),
        Binding("escape,n", "answer(None)", "Cancel", id="confirm_no"),
    ]

    def __init__(self, question: str, detail: str = "", pin_label: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.pin_label = pin_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question", markup=False)
            if self.detail:
                yield Static(self.detail, id="detail", markup=False)
            with Horizontal(id="buttons"):
                if self.pin_label:
                    yield Button(self.pin_label, id=PIN, variant="primary")
                yield Button("Change only" if self.pin_label else "Yes", id=CHANGE)
                yield Button("Cancel", id="cancel", variant="error")

    def on_mount(self) -> None:
        self.query_one(f"#{PIN if self.pin_label else CHANGE}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in (CHANGE, PIN) else None)

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)
