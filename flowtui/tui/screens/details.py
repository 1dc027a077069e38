"""`enter`: one flow's full platform JSON (read fresh) and its audit history."""

from __future__ import annotations

import json
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.syntax import Syntax
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from flowtui.model import State
from flowtui.providers.base import ProviderError
from flowtui.providers.redaction import redact
from flowtui.tui.control import Control, FlowRow
from flowtui.tui.display import stamp, target_text
from flowtui.tui.screens.audit import audit_cells
from flowtui.tui.widgets.flow_columns import drifted

AUDIT_COLUMNS = ("#", "TIME", "EVENT", "OLD", "NEW", "BY", "RESULT", "REASON", "ERROR")


class DetailsScreen(Screen[None]):
    CSS_PATH = "details.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="details_back"),
    ]

    def __init__(self, control: Control, row: FlowRow, zone: ZoneInfo) -> None:
        super().__init__()
        self.control = control
        self.row = row
        self.zone = zone
        self.json_text = ""
        self.fresh = False  # the platform JSON was read again since the screen opened

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(self.summary(), id="summary", markup=False)
            yield Static(self.json(self.row.raw), id="json")
            yield Static("Audit history", classes="heading")
            yield DataTable(id="history", cursor_type="row")
        yield Footer()

    def summary(self) -> str:
        row, governance = self.row, self.row.governance
        why = "why unknown" if row.state is State.UNKNOWN else "last error"
        lines = [
            f"{row.ref}  ({row.kind})  {row.name}",
            f"state: {row.state}" + (f"   {why}: {row.error}" if row.error else ""),
            f"governed by: {governance.rule or '-'}"
            + (f"  (wants {target_text(governance.desired)})" if governance.rule else ""),
        ]
        if drifted(row):
            lines.append(f"drift: the rule wants it {governance.desired}, it is {row.state}")
        if governance.next_change:
            change = governance.next_change
            lines.append(
                f"next change: {target_text(change.to_state)} at {stamp(change.at, self.zone)}"
                f" ({change.rule})"
            )
        return "\n".join(lines)

    def json(self, raw: object) -> Syntax:
        self.json_text = redact(json.dumps(raw, indent=2, sort_keys=True, default=str))
        return Syntax(self.json_text, "json", theme="ansi_dark", word_wrap=True)

    def on_mount(self) -> None:
        self.title = f"flow {self.row.ref}"
        table = self.query_one("#history", DataTable)
        table.add_columns(*AUDIT_COLUMNS)
        for record in self.control.audit(flow=self.row.ref, limit=200):
            table.add_row(*audit_cells(record, self.zone, with_flow=False))
        if self.row.ref.flow_id != "*":
            self.read_flow()

    @work(exclusive=True, exit_on_error=False)
    async def read_flow(self) -> None:
        try:
            flow = await self.control.read_one(self.row.ref)
        except ProviderError as exc:
            self.query_one("#summary", Static).update(f"{self.summary()}\nread failed: {exc}")
            return
        self.query_one("#json", Static).update(self.json(flow.raw))
        self.fresh = True
