"""The main table: one row per flow of every account, keyed `account:flow_id`, updated in
place (only the cells that changed) on every refresh."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from flowtui.model import FlowRef, State
from flowtui.tui.control import FlowRow
from flowtui.tui.display import ERROR, safe, stamp, state_text, target_text, when_text

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("mark", " ", 1),
    ("account", "ACCOUNT", 9),
    ("platform", "PLATFORM", 8),
    ("flow", "FLOW ID", 22),
    ("name", "NAME", 22),
    ("state", "STATE", 15),
    ("rule", "RULE", 19),
    ("next", "NEXT", 11),
    ("when", "IN", 17),
    ("last", "LAST CHANGE", 16),
)
Cells = tuple[str | Text, ...]
CHUNK = 250  # rows updated between two yields to the event loop


def matches(row: FlowRow, words: Iterable[str]) -> bool:
    """Every word occurs in the row's account, platform, state, flow id or name."""
    haystack = " ".join(
        (row.ref.account, row.kind, ERROR if row.error else row.state, row.ref.flow_id, row.name)
    ).lower()
    return all(word in haystack for word in words)


class FlowTable(DataTable[str | Text]):
    """Flows of all accounts. Flow actions live here so that they apply to the table only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "screen.change('enable')", "Enable", id="enable"),
        Binding("d", "screen.change('disable')", "Disable", id="disable"),
        Binding("t", "screen.change('toggle')", "Toggle", id="toggle"),
        Binding("p", "screen.publish", "Publish", id="publish"),
        Binding("o", "screen.override", "Override", id="override"),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("enter", "screen.details", "Details", id="details"),
    ]

    def __init__(self, zone: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.zone = zone
        self.rows_by_key: dict[str, FlowRow] = {}  # every row, shown or filtered out
        self.marked: set[str] = set()
        self.pending: set[str] = set()
        self.words: list[str] = []
        self._shown: dict[str, Cells] = {}
        self._now: datetime | None = None
        self._generation = 0  # bumped by each filter change

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width and every row one line, so new rows need no
        # measuring (DataTable measures every cell of every new row: seconds for 10,000).
        super()._update_dimensions(())

    # -- what a row looks like ----------------------------------------------------------

    def cells(self, row: FlowRow) -> Cells:
        governance = row.governance
        transition = governance.next_change
        if row.key in self.pending:
            state = state_text(State.PENDING)
        else:
            state = state_text(ERROR if row.error else row.state)
        return (
            "✔" if row.key in self.marked else " ",
            safe(row.ref.account),
            row.kind,
            safe(row.ref.flow_id),
            safe(row.error if row.ref.flow_id == "*" and row.error else row.name),
            state,
            safe(governance.rule or ""),
            f"→ {target_text(transition.to_state)}" if transition else "",
            when_text(transition.at, self._now, self.zone) if transition and self._now else "",
            stamp(row.updated, self.zone),
        )

    # -- keeping the table in step --------------------------------------------------------

    async def show_rows(self, rows: Mapping[str, FlowRow], now: datetime) -> None:
        """Make the table show `rows` (all of them; the filter decides which appear),
        updating only the cells that changed. Yields to the event loop every CHUNK rows so
        that keys stay responsive on large tables; a filter change meanwhile ends it (the
        filter redraws everything itself)."""
        self._now = now
        self.rows_by_key = dict(rows)
        generation = self._generation
        wanted = self._wanted()
        self._drop_unwanted(set(wanted))
        if not self._shown:  # the first fill: nothing to keep responsive yet, paint once
            self._sync()
            return
        for start in range(0, len(wanted), CHUNK):
            for key in wanted[start : start + CHUNK]:
                if key in self.rows_by_key:
                    self._show(key)
            await asyncio.sleep(0)
            if generation != self._generation:
                return

    def _wanted(self) -> list[str]:
        return [key for key, row in self.rows_by_key.items() if matches(row, self.words)]

    def _drop_unwanted(self, wanted: set[str]) -> None:
        for key in [key for key in self._shown if key not in wanted]:
            self.remove_row(key)
            del self._shown[key]

    def _sync(self) -> None:
        wanted = self._wanted()
        self._drop_unwanted(set(wanted))
        for key in wanted:
            self._show(key)

    def _show(self, key: str) -> None:
        cells = self.cells(self.rows_by_key[key])
        old = self._shown.get(key)
        if old is None:
            self.add_row(*cells, key=key)
        else:
            for (column, _, _), before, after in zip(COLUMNS, old, cells, strict=True):
                if before != after:
                    self.update_cell(key, column, after)
        self._shown[key] = cells

    def update_row(self, row: FlowRow) -> None:
        """One row changed (a change finished, the scheduler reported): redraw it now."""
        self.rows_by_key[row.key] = row
        if row.key in self._shown or matches(row, self.words):
            self._show(row.key)

    def set_pending(self, keys: Iterable[str], pending: bool) -> None:
        for key in keys:
            (self.pending.add if pending else self.pending.discard)(key)
            if key in self._shown:
                self._show(key)

    def filter(self, text: str) -> None:
        """Show only rows matching every word of `text` (rebuilds the rows, in order)."""
        self.words = text.lower().split()
        self._generation += 1
        self.clear()
        self._shown = {}
        self._sync()

    # -- selection ----------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def targets(self) -> list[FlowRef]:
        """The marked flows, or else the flow under the cursor (account rows excluded)."""
        keys = [key for key in self.rows_by_key if key in self.marked] or (
            [self.cursor_key] if self.cursor_key else []
        )
        return [FlowRef.parse(key) for key in keys if not key.endswith(":*")]

    def action_mark(self) -> None:
        key = self.cursor_key
        if key is None or key.endswith(":*"):
            return
        self.marked.symmetric_difference_update({key})
        self._show(key)
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1)

    def clear_marks(self) -> None:
        keys, self.marked = self.marked, set()
        for key in keys:
            if key in self._shown:
                self._show(key)
