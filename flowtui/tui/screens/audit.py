"""`a`: the audit log, newest first, live (new rows appear as they are written: polled,
or in team mode on the database's notification of each new row)."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from flowtui.store import AuditRecord, StoreError
from flowtui.tui.control import Control
from flowtui.tui.display import safe

COLUMNS = ("#", "TIME", "EVENT", "FLOW", "OLD", "NEW", "BY", "RESULT", "REASON", "ERROR")
POLL_SECONDS = 1.0
RESULT_STYLE = {"failed": "bold red", "changed": "green", "published": "green"}


def audit_cells(record: AuditRecord, zone: ZoneInfo, *, with_flow: bool = True) -> list[str | Text]:
    cells: list[str | Text] = [
        str(record.id),
        record.timestamp.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        record.event_type,
    ]
    if with_flow:
        cells.append(safe(str(record.flow)))
    cells += [
        record.old_status or "",
        record.new_status or "",
        safe(record.changed_by),
        Text(record.result or "", style=RESULT_STYLE.get(record.result or "", "")),
        safe(record.reason or ""),
        Text(record.error or "", style="red"),
    ]
    return cells


class AuditScreen(Screen[None]):
    CSS_PATH = "audit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="audit_back"),
    ]

    def __init__(self, control: Control, zone: ZoneInfo, limit: int = 1000) -> None:
        super().__init__()
        self.control = control
        self.zone = zone
        self.limit = limit
        self.last_id = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "audit log"
        table = self.query_one(DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        self.poll()
        if not self.control.team:  # team mode: the app polls on each NOTIFY (team_link)
            self.set_interval(POLL_SECONDS, self.poll)

    def poll(self) -> None:
        """Add the records written since the last poll, keeping newest first."""
        try:
            records = self.control.audit(limit=self.limit)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        fresh = [record for record in records if (record.id or 0) > self.last_id]
        if not fresh:
            return
        table = self.query_one(DataTable)
        for record in reversed(fresh):
            table.add_row(*audit_cells(record, self.zone), key=str(record.id))
        self.last_id = max(record.id or 0 for record in fresh)
        table.sort("#", key=int, reverse=True)
