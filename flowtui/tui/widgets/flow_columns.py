"""The main table's columns: what each cell of a flow row says, how wide each column wants
to be, which columns give way on a narrow terminal, and how rows sort by a column.

Plain functions of `FlowRow`s (no widgets), so that the table computes cells only for the
rows on screen and fits its columns from the data."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from flowtui.model import State
from flowtui.providers.base import SETTABLE
from flowtui.tui.control import FlowRow
from flowtui.tui.display import ERROR, STATE_LOOK, stamp, target_text, when_text

GAP = 2  # spaces between two columns
DRIFT = "≠"  # after the state: the rule wants another state
FAILED = "!"  # after the state: the last change of this flow failed (reason in details)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fixed: int = 0  # a known width; 0: measured from the rows
    cap: int = 0  # the widest a measured column grows
    comfortable: int = 0  # what a narrow terminal shrinks a measured column to first
    least: int = 0  # the narrowest it is ever shrunk to


COLUMNS: tuple[Column, ...] = (
    Column("mark", " ", fixed=1),
    Column("account", "ACCOUNT", cap=16, comfortable=8, least=6),
    Column("platform", "PLATFORM", fixed=8),
    Column("flow", "FLOW ID", cap=40, comfortable=14, least=8),
    Column("name", "NAME", cap=48, comfortable=18, least=10),
    Column("state", "STATE", cap=18, comfortable=11, least=9),
    Column("rule", "RULE", cap=28, comfortable=12, least=8),
    Column("next", "NEXT", fixed=11),
    Column("when", "IN", fixed=18),
    Column("last", "LAST CHANGE", fixed=16),
)
BY_KEY = {column.key: column for column in COLUMNS}
# Which columns give way first when the terminal is too narrow for all of them.
DROP_ORDER = ("last", "platform", "flow", "when", "next", "rule")
SHRINK_ORDER = ("name", "flow", "rule", "account", "state")


@dataclass(frozen=True)
class View:
    """What a row's cells depend on besides the row: the table's marks and pending changes,
    the accounts that could not be read, the clock and the zone."""

    marked: Collection[str]
    pending: Collection[str]
    failed_accounts: Collection[str]
    now: datetime | None
    zone: tzinfo


def account_failed(row: FlowRow, view: View) -> bool:
    return row.error is not None and row.ref.account in view.failed_accounts


def drifted(row: FlowRow) -> bool:
    """The flow's state is not the one its governing rule (or override) wants now."""
    return is_drift(row.state, row.governance.desired)


def is_drift(state: State, wanted: object) -> bool:
    return (
        isinstance(wanted, State)
        and wanted in SETTABLE
        and state in SETTABLE
        and state is not wanted
    )


def state_cell(row: FlowRow, view: View) -> tuple[str, str]:
    """(text, style) of the STATE cell: the state, or pending, or the account's error; with
    the drift and failed-change markers."""
    if row.key in view.pending:
        state: str = State.PENDING
    elif account_failed(row, view) or row.ref.flow_id == "*":
        state = ERROR
    else:
        state = row.state
    symbol, style = STATE_LOOK.get(state, STATE_LOOK[State.UNKNOWN])
    text = f"{symbol} {state}"
    if state in SETTABLE and drifted(row):
        text += f" {DRIFT}"
    if state not in (ERROR, State.PENDING) and row.error and row.state is not State.UNKNOWN:
        text += f" {FAILED}"
    return text, style


def cell(key: str, row: FlowRow, view: View) -> tuple[str, str]:
    """(text, style) of one cell."""
    governance = row.governance
    transition = governance.next_change
    if key == "mark":
        return ("✔" if row.key in view.marked else " "), "bold"
    if key == "account":
        return row.ref.account, ""
    if key == "platform":
        return row.kind, "dim"
    if key == "flow":
        return row.ref.flow_id, ""
    if key == "name":
        text = row.error if row.ref.flow_id == "*" and row.error else row.name
        return text or "", ""
    if key == "state":
        return state_cell(row, view)
    if key == "rule":
        return governance.rule_shown, "" if governance.rule else "dim"
    if key == "next":
        return (f"→ {target_text(transition.to_state)}" if transition else ""), ""
    if key == "when":
        if transition is None or view.now is None:
            return "", ""
        return when_text(transition.at, view.now, view.zone), ""
    return stamp(row.updated, view.zone), "dim"


def natural_widths(rows: Iterable[FlowRow]) -> dict[str, int]:
    """Each column's width if nothing were cut (measured columns up to their cap). One
    pass per column over 10,000 rows; what few rows share (accounts, rules) measured once."""
    rows = list(rows)
    rules = {id(row.governance): row.governance for row in rows}.values()
    names = (row.error or "" if row.ref.flow_id == "*" else row.name for row in rows)
    longest = {
        "account": max(map(len, {row.ref.account for row in rows}), default=0),
        "flow": max((len(row.ref.flow_id) for row in rows), default=0),
        "name": max(map(len, names), default=0),
        "rule": max((len(governance.rule_shown) for governance in rules), default=0),
    }
    states = {(row.state, row.governance.desired, row.error is not None) for row in rows}
    longest["state"] = max(  # (an upper bound)
        (
            len(state) + 2 + 2 * is_drift(state, wanted) + 2 * failed
            for state, wanted, failed in states
        ),
        default=0,
    )
    longest["state"] = max(longest["state"], len("… pending"), len("✖ error"))
    widths: dict[str, int] = {}
    for column in COLUMNS:
        if column.fixed:
            widths[column.key] = column.fixed
        else:
            widths[column.key] = min(max(longest[column.key], len(column.label)), column.cap)
    return widths


def _total(widths: Mapping[str, int], keys: Iterable[str]) -> int:
    keys = list(keys)
    return sum(widths[key] for key in keys) + GAP * (len(keys) - 1)


def fit(natural: Mapping[str, int], width: int) -> list[tuple[str, int]]:
    """The columns shown in `width` cells and their widths: every column at its natural
    width when they fit; else measured columns shrink to a comfortable width and the least
    needed columns (DROP_ORDER) give way one by one; as a last resort columns shrink to
    their least width (and the line is cut)."""
    shown = [column.key for column in COLUMNS]
    if _total(natural, shown) <= width:
        return [(key, natural[key]) for key in shown]
    drops = list(DROP_ORDER)
    while True:
        widths = {key: min(natural[key], BY_KEY[key].comfortable or natural[key]) for key in shown}
        if _total(widths, shown) <= width or not drops:
            break
        shown.remove(drops.pop(0))
    spare = width - _total(widths, shown)
    if spare < 0:
        for key in SHRINK_ORDER:
            if key in shown and spare < 0:
                cut = min(-spare, widths[key] - BY_KEY[key].least)
                widths[key] -= max(cut, 0)
                spare += max(cut, 0)
    for key in SHRINK_ORDER:  # give room back, most useful column first
        if key in shown and spare > 0:
            grow = min(spare, natural[key] - widths[key])
            widths[key] += grow
            spare -= grow
    return [(key, widths[key]) for key in shown]


def sort_key(column: str, view: View) -> Callable[[FlowRow], Any]:
    """How rows order by `column` (times: soonest or oldest first; text: case-insensitive)."""
    if column == "when" or column == "next":
        return lambda row: row.governance.next_change.at if row.governance.next_change else LATEST
    if column == "last":
        return lambda row: row.updated or EARLIEST
    if column == "rule":
        return lambda row: (not row.governance.rule_shown, row.governance.rule_shown.casefold())
    return lambda row: cell(column, row, view)[0].casefold()
