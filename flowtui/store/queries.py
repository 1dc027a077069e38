"""The audit queries both backends run, written once; `mark` is the driver's placeholder
(`?` for sqlite3, `%s` for psycopg) and times are passed as each backend stores them."""

from __future__ import annotations

from flowtui.model import FlowRef

OPEN_INTENTS = (
    "SELECT * FROM audit AS i WHERE i.event_type = 'intent' AND NOT EXISTS"
    " (SELECT 1 FROM audit AS o WHERE o.intent_id = i.id) ORDER BY i.id"
)


def prune(mark: str) -> str:
    """Delete at most a batch (2nd parameter) of rows older than the 1st, never an open
    intent; oldest first, through the time index."""
    return (
        f"DELETE FROM audit WHERE id IN (SELECT i.id FROM audit AS i WHERE i.timestamp < {mark}"
        " AND (i.event_type <> 'intent' OR EXISTS"
        " (SELECT 1 FROM audit AS o WHERE o.intent_id = i.id))"
        f" ORDER BY i.timestamp LIMIT {mark})"
    )


def audit(
    mark: str, since: object | None, flow: FlowRef | None, limit: int | None
) -> tuple[str, tuple[object, ...]]:
    """Audit rows, newest first, filtered by time (`since` as stored), flow and count."""
    clauses: list[str] = []
    params: list[object] = []
    if since is not None:
        clauses.append(f"timestamp >= {mark}")
        params.append(since)
    if flow is not None:
        clauses.append(f"account = {mark} AND flow_id = {mark}")
        params.extend(flow)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = ""
    if limit is not None:
        tail = f" LIMIT {mark}"
        params.append(limit)
    return f"SELECT * FROM audit{where} ORDER BY id DESC{tail}", tuple(params)
