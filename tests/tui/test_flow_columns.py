"""The main table's columns without a terminal: what fits at 250 and at 80 columns, the
drift and failed-change markers, and sorting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowtui.model import FlowRef, State
from flowtui.rules import Transition
from flowtui.tui.control import FlowRow
from flowtui.tui.governance import Governance
from flowtui.tui.widgets.flow_columns import (
    DRIFT,
    FAILED,
    GAP,
    View,
    cell,
    fit,
    natural_widths,
    sort_key,
)

NOW = datetime(2031, 3, 3, 10, 21, tzinfo=UTC)  # a Monday
UUID = "0e0b38b7-7113-4653-868e-f2a923c6f1ab"


def row(flow_id: str = UUID, state: State = State.ENABLED, **fields: object) -> FlowRow:
    return FlowRow(FlowRef("studio", flow_id), "runflow", "Archive signups 0008", state, **fields)


def nightly(at: datetime, desired: State | None = State.DISABLED) -> Governance:
    return Governance("nightly-batch", desired, Transition(at, "nightly-batch", None, None, None))


def view(**fields: object) -> View:
    values: dict[str, object] = {
        "marked": (),
        "pending": (),
        "failed_accounts": (),
        "now": NOW,
        "zone": UTC,
    }
    return View(**(values | fields))  # type: ignore[arg-type]


def test_at_250_columns_nothing_is_cut() -> None:
    rows = [row(governance=nightly(NOW + timedelta(hours=23, minutes=39), None))]
    columns = dict(fit(natural_widths(rows), 249))
    assert len(columns) == 10
    assert columns["flow"] >= len(UUID)
    assert columns["when"] >= len(cell("when", rows[0], view())[0])
    assert cell("when", rows[0], view())[0] == "23h39m · Tue 10:00"


def test_at_80_columns_state_and_name_stay_whole() -> None:
    rows = [row(governance=nightly(NOW + timedelta(hours=2)))]
    columns = fit(natural_widths(rows), 78)
    widths = dict(columns)
    assert sum(widths.values()) + GAP * (len(columns) - 1) <= 78
    assert {"mark", "account", "name", "state"} <= set(widths)
    assert widths["name"] >= len("Archive signups 0008")
    assert widths["state"] >= len(f"● enabled {DRIFT}")
    assert "last" not in widths  # the least needed column gave way first


def test_drift_and_a_failed_change_are_marked_and_the_rule_shown_with_next() -> None:
    drifting = row(governance=nightly(NOW + timedelta(hours=1)))
    assert cell("state", drifting, view())[0] == f"● enabled {DRIFT}"
    failed = row(state=State.DISABLED, error="not published — publish it first")
    assert cell("state", failed, view())[0] == f"○ disabled {FAILED}"
    upcoming = row(governance=Governance(None, None, nightly(NOW).next_change))
    assert cell("rule", upcoming, view())[0] == "nightly-batch"
    unreadable = row(error="HTTP 503")
    assert cell("state", unreadable, view(failed_accounts={"studio"}))[0] == "✖ error"


def test_rows_sort_by_a_column() -> None:
    rows = [row("b", updated=NOW), row("a", updated=NOW - timedelta(days=1)), row("c")]
    by_flow = sorted(rows, key=sort_key("flow", view()))
    assert [r.ref.flow_id for r in by_flow] == ["a", "b", "c"]
    by_last = sorted(rows, key=sort_key("last", view()))
    assert [r.ref.flow_id for r in by_last] == ["c", "a", "b"]
