"""What one converge pass tells about accounts and rules, read from its `Report` — shared by
the metrics, the health summary and the notifications so that they always agree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from flowtui.engine.reconcile import FlowOutcome, Report
from flowtui.model import FlowRef, State


def read_failed(outcome: FlowOutcome) -> bool:
    """The flow could not even be read (its account's trouble, not the change's)."""
    return outcome.failed and outcome.before is None


def reachability(report: Report) -> dict[str, str | None]:
    """Account → None when the pass could read it, else why not. An account is unreachable
    when it failed as a whole or none of its flows could be read; accounts the pass did not
    look at are absent."""
    result: dict[str, str | None] = dict(report.account_errors)
    by_account: dict[str, list[FlowOutcome]] = defaultdict(list)
    for outcome in report.outcomes:
        by_account[outcome.flow.account].append(outcome)
    for account, outcomes in by_account.items():
        if account in result:
            continue
        if all(read_failed(o) for o in outcomes):
            result[account] = outcomes[0].error or "cannot be read"
        else:
            result[account] = None
    return result


def flow_states(outcomes: Iterable[FlowOutcome]) -> dict[FlowRef, State]:
    """The state the pass left each flow in (unknown when it could not be read)."""
    return {o.flow: o.after or State.UNKNOWN for o in outcomes}
