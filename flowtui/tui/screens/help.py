"""`?`: the active keymap (after `[keys]` remaps from the config)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from flowtui.tui.display import key_label, safe
from flowtui.tui.widgets.flow_columns import DRIFT, FAILED

TITLE = 'Keys  (remap them under [keys] in schedules.toml: id = "key")'
HINT = (
    f"Bulk actions apply to marked rows (space); escape clears marks. In STATE, {DRIFT} means"
    f" the rule wants another state and {FAILED} that the last change failed (enter: why)."
)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help_close"),
    ]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(TITLE), id="title")
            table: DataTable[str | Text] = DataTable(cursor_type="row", id="keys")
            table.add_columns("KEY", "ACTION", "WHERE", "ID")
            for binding_id, key, description, where in self.rows:
                label = safe(key_label(key))
                table.add_row(label, description, where, safe(binding_id), key=binding_id)
            yield table
            yield Static(HINT, id="hint", markup=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
