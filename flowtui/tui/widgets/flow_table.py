"""The main table: one row per flow of every account, keyed `account:flow_id`.

A Line API widget rather than a DataTable: it keeps the rows as data and draws only the
lines on screen, so that 10,000 flows paint, filter, sort and refresh without building a
cell per flow. A refresh redraws only the lines whose row changed; the IN countdown is
computed when a line is drawn."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from flowtui.model import FlowRef
from flowtui.tui.control import FlowRow
from flowtui.tui.display import ERROR, when_text
from flowtui.tui.widgets.flow_columns import (
    BY_KEY,
    COLUMNS,
    GAP,
    View,
    cell,
    fit,
    natural_widths,
    sort_key,
)


def searched_text(row: FlowRow, failed_accounts: Collection[str] = ()) -> str:
    """What the filter's words are looked for in: account, platform, state, flow id, name."""
    state = ERROR if row.ref.account in failed_accounts and row.error else row.state
    return f"{row.ref.account} {row.kind} {state} {row.ref.flow_id} {row.name}".lower()


def signature(row: FlowRow) -> tuple[object, ...]:
    """What a row shows; a refresh redraws a line only when this changed."""
    return (row.state, row.name, row.kind, row.error, row.updated, row.governance)


class FlowTable(ScrollView, can_focus=True):
    """Flows of all accounts. Flow actions live here so that they apply to the table only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "screen.change('enable')", "Enable", id="enable"),
        Binding("d", "screen.change('disable')", "Disable", id="disable"),
        Binding("t", "screen.change('toggle')", "Toggle", id="toggle"),
        Binding("p", "screen.publish", "Publish", id="publish"),
        Binding("o", "screen.override", "Override", id="override"),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("enter", "screen.details", "Details", id="details"),
        Binding("down,j", "cursor(1)", "Down", id="cursor_down", show=False),
        Binding("up,k", "cursor(-1)", "Up", id="cursor_up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", id="page_down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", id="page_up", show=False),
        Binding("home,g", "jump(0)", "First row", id="first_row", show=False),
        Binding("end,G", "jump(-1)", "Last row", id="last_row", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort by next column", id="sort_next", show=False),
        Binding(
            "less_than_sign", "sort(-1)", "Sort by previous column", id="sort_previous", show=False
        ),
        Binding("exclamation_mark", "sort_reverse", "Reverse sort", id="sort_reverse", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "flow-table--header",
        "flow-table--cursor",
        "flow-table--even-row",
    }
    DEFAULT_CSS = """
    FlowTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        overflow-x: hidden;
        & > .flow-table--header { text-style: bold; background: $panel; }
        & > .flow-table--even-row { background: $surface-lighten-1 50%; }
        & > .flow-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .flow-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    def __init__(self, zone: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zone = zone
        self.rows_by_key: dict[str, FlowRow] = {}  # every row, shown or filtered out
        self.marked: set[str] = set()
        self.pending: set[str] = set()
        self.failed_accounts: frozenset[str] = frozenset()
        self.words: list[str] = []
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.cursor_row = 0
        self._order: list[str] = []  # the keys shown, filtered and sorted
        self._index: dict[str, int] = {}
        self._natural = natural_widths(())
        self._now: datetime | None = None
        self._styles: dict[str, Style] = {}
        self._look_of: dict[str, Style] = {}
        self._columns: list[tuple[str, int]] = []
        self._searched: dict[str, tuple[FlowRow, str]] = {}  # key → (row, its searched text)
        self._searched_failed = self.failed_accounts

    # -- what is shown ------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def key_at(self, index: int) -> str:
        return self._order[index]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def get_cell(self, key: str, column: str) -> str:
        """The text of one cell, as drawn."""
        return cell(column, self.rows_by_key[key], self._view())[0]

    def _view(self) -> View:
        return View(self.marked, self.pending, self.failed_accounts, self._now, self.zone)

    # -- keeping the table in step --------------------------------------------------------

    def show_rows(
        self,
        rows: Mapping[str, FlowRow],
        now: datetime,
        failed_accounts: Collection[str] = (),
        changed: Collection[str] | None = None,
    ) -> None:
        """Make the table show `rows` (the filter decides which appear). `changed`: the
        keys whose row differs from the one shown (None: compare every row). New or removed
        rows re-order the table; otherwise only the lines of changed rows are redrawn."""
        old, self.rows_by_key = self.rows_by_key, dict(rows)
        self._now = now
        if changed is None:
            changed = [
                key
                for key, row in self.rows_by_key.items()
                if (before := old.get(key)) is None or signature(before) != signature(row)
            ]
        failed = frozenset(failed_accounts)
        failed_changed = failed != self.failed_accounts
        self.failed_accounts = failed
        added = sum(1 for key in changed if key not in old)
        reorder = added or len(old) + added != len(self.rows_by_key)
        widths = self._natural
        if reorder:
            self._natural = natural_widths(self.rows_by_key.values())
        elif changed:
            grown = natural_widths(self.rows_by_key[key] for key in changed)
            self._natural = {key: max(width, grown[key]) for key, width in self._natural.items()}
        if self._natural != widths:  # the columns move: every line, the header too
            self.refresh()
        if reorder or failed_changed or (changed and (self.words or self.sort_column)):
            self._arrange()
        else:
            self._redraw(changed)

    def update_row(self, row: FlowRow) -> None:
        """One row changed (a change finished, the scheduler reported): redraw it now."""
        new = row.key not in self.rows_by_key
        self.rows_by_key[row.key] = row
        if new:
            self._arrange()
        else:
            self._redraw([row.key])

    def set_pending(self, keys: Iterable[str], pending: bool) -> None:
        keys = list(keys)
        (self.pending.update if pending else self.pending.difference_update)(keys)
        self._redraw(keys)

    def tick(self, now: datetime) -> None:
        """The clock moved: redraw the lines on screen whose countdown changed."""
        before, self._now = self._now, now
        top = int(self.scroll_y)
        for index in range(top, min(top + self.size.height, len(self._order))):
            transition = self.rows_by_key[self._order[index]].governance.next_change
            if transition is None:
                continue
            if before is None or when_text(transition.at, before, self.zone) != when_text(
                transition.at, now, self.zone
            ):
                self.refresh_line(index + 1)

    def filter(self, text: str) -> None:
        """Show only rows matching every word of `text`."""
        self.words = text.lower().split()
        self._arrange()

    def _arrange(self) -> None:
        """Filter and sort the rows; the cursor stays on its flow when it is still shown."""
        current = self.cursor_key
        keys = self._matching()
        if self.sort_column is not None:
            by = sort_key(self.sort_column, self._view())
            rows = self.rows_by_key
            keys.sort(key=lambda key: by(rows[key]), reverse=self.sort_reverse)
        self._order = keys
        self._index = {key: index for index, key in enumerate(keys)}
        self.virtual_size = Size(self.size.width, len(keys) + 1)
        index = self._index.get(current, self.cursor_row) if current else self.cursor_row
        self.cursor_row = max(0, min(index, len(keys) - 1))
        self._scroll_to_cursor()
        self.refresh()
        self.screen.refresh_bindings()  # the row under the cursor may be another platform's

    def _matching(self) -> list[str]:
        """The keys of the rows that match every word of the filter. Each row's searched
        text is kept while the row and the failed accounts stay the same: a key typed in
        the filter costs one substring test per row, not a new string."""
        rows, words, failed = self.rows_by_key, self.words, self.failed_accounts
        if not words:
            return list(rows)
        if self._searched_failed != failed or len(self._searched) > 2 * len(rows):
            self._searched, self._searched_failed = {}, failed  # (stale states, gone rows)
        searched = self._searched
        keys = []
        for key, row in rows.items():
            kept = searched.get(key)
            if kept is None or kept[0] is not row:
                kept = searched[key] = (row, searched_text(row, failed))
            text = kept[1]
            if all(word in text for word in words):
                keys.append(key)
        return keys

    def _redraw(self, keys: Iterable[str]) -> None:
        top = int(self.scroll_y)
        bottom = top + self.scrollable_content_region.height
        for key in keys:
            index = self._index.get(key)
            if index is not None and top <= index < bottom:
                self.refresh_line(index + 1)

    # -- drawing ------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._order) + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Work out the columns and styles once for all the lines drawn now."""
        base = self.rich_style
        self._look_of = {
            name: base + self.get_component_rich_style(f"flow-table--{name}")
            for name in ("header", "cursor", "even-row")
        } | {"row": base}
        self._columns = fit(self._natural, self.scrollable_content_region.width - 1)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        looks, columns = self._look_of, self._columns
        if y == 0:
            return self._header(columns, looks["header"], width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._order):
            return Strip.blank(width, looks["row"])
        if index == self.cursor_row:
            style = looks["cursor"]
        else:
            style = looks["even-row"] if index % 2 else looks["row"]
        row = self.rows_by_key[self._order[index]]
        view = self._view()
        segments = [Segment(" ", style)]
        for position, (key, size) in enumerate(columns):
            text, look = cell(key, row, view)
            if position:
                segments.append(Segment(" " * GAP, style))
            segments.append(Segment(_fitted(text, size), style + self._look(look)))
        return Strip(segments).adjust_cell_length(width, style)

    def _header(self, columns: list[tuple[str, int]], style: Style, width: int) -> Strip:
        segments = [Segment(" ", style)]
        for position, (key, size) in enumerate(columns):
            label = BY_KEY[key].label
            if key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            if position:
                segments.append(Segment(" " * GAP, style))
            segments.append(Segment(_fitted(label, size), style))
        return Strip(segments).adjust_cell_length(width, style)

    def _look(self, look: str) -> Style:
        style = self._styles.get(look)
        if style is None:
            style = self._styles[look] = Style.parse(look) if look else Style()
        return style

    # -- moving around ------------------------------------------------------------------

    def move_cursor(self, *, row: int) -> None:
        old, before = self.cursor_row, self.cursor_key
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        if self.cursor_row != old:
            self.refresh_line(old + 1)
            self.refresh_line(self.cursor_row + 1)
        self._scroll_to_cursor()
        if (
            before is None
            or self.cursor_key is None
            or _account(before) != _account(self.cursor_key)
        ):
            self.screen.refresh_bindings()  # what the footer offers depends on the platform

    def _scroll_to_cursor(self) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, pages: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        self.move_cursor(row=self.cursor_row + pages * visible)

    def action_jump(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self._order) - 1)

    def action_sort(self, step: int) -> None:
        keys = [column.key for column in COLUMNS if column.key != "mark"]
        if self.sort_column is None:
            self.sort_column = keys[0] if step > 0 else keys[-1]
        else:
            position = keys.index(self.sort_column) + step
            self.sort_column = keys[position] if 0 <= position < len(keys) else None
        self._arrange()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        if self.sort_column is None:
            self.sort_column = COLUMNS[1].key
        self._arrange()

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        self.move_cursor(row=int(self.scroll_y) + event.y - 1)

    # -- marks and targets --------------------------------------------------------------

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
        self._redraw([key])
        self.move_cursor(row=self.cursor_row + 1)
        self.screen.refresh_bindings()

    def clear_marks(self) -> None:
        keys, self.marked = self.marked, set()
        self._redraw(keys)
        self.screen.refresh_bindings()


def _account(key: str) -> str:
    return key.partition(":")[0]


def _fitted(text: str, width: int) -> str:
    """`text` padded or cut to exactly `width` cells (cut text ends in …)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"
