"""The state store: audit log (intent before a change, outcome after), prior states kept for
`after = "restore"`, and operator overrides.

`Store` is the small interface the engine, CLI and app use; `SqliteStore` implements it on
stdlib sqlite3 in WAL mode. Every write commits at once (autocommit), so an intent row is on
disk before the change it announces is sent: a crash between the two leaves an open intent
that the next start finds with `open_intents()` and re-verifies.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from flowtui.model import FlowRef, State

DB_NAME = "flowtui.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    intent_id INTEGER REFERENCES audit(id),
    account TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    old_status TEXT,
    new_status TEXT,
    changed_by TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    result TEXT,
    error TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_flow ON audit (account, flow_id, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (timestamp);
CREATE INDEX IF NOT EXISTS audit_by_intent ON audit (intent_id);
CREATE TABLE IF NOT EXISTS prior_states (
    rule TEXT NOT NULL,
    account TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    state TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (rule, account, flow_id)
);
CREATE TABLE IF NOT EXISTS overrides (
    account TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    state TEXT NOT NULL,
    until TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account, flow_id)
);
CREATE TABLE IF NOT EXISTS desired_memory (
    account TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    desired TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (account, flow_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

SKIP = "skip"  # an override state meaning "don't touch this flow"


class StoreError(Exception):
    """The store cannot be opened or written (one line, no traceback for the user)."""


@dataclass(frozen=True)
class AuditRecord:
    """One audit row. `event_type` is "intent" before a change and "outcome" after it
    (pointing at its intent with `intent_id`); other types record what needed no change
    request, e.g. "drift" or "recovery"."""

    event_type: str
    flow: FlowRef
    changed_by: str
    timestamp: datetime
    old_status: str | None = None
    new_status: str | None = None
    result: str | None = None
    error: str | None = None
    reason: str | None = None
    intent_id: int | None = None
    id: int | None = None

    def as_json(self) -> dict[str, object]:
        """The stable JSON form used by `flowtui audit --json`."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "intent_id": self.intent_id,
            "account": self.flow.account,
            "flow_id": self.flow.flow_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "changed_by": self.changed_by,
            "timestamp": self.timestamp.isoformat(),
            "result": self.result,
            "error": self.error,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class OverrideRecord:
    """An operator's time-boxed pin: `state` is enabled, disabled or "skip"."""

    flow: FlowRef
    state: str
    until: datetime
    created_by: str
    created_at: datetime


class Store(Protocol):
    """What the engine, CLI and app need from persistent state."""

    def record_intent(
        self,
        flow: FlowRef,
        *,
        old_status: str | None,
        new_status: str,
        changed_by: str,
        reason: str,
        at: datetime,
    ) -> int: ...

    def record_outcome(
        self,
        intent_id: int,
        *,
        new_status: str | None,
        result: str,
        at: datetime,
        error: str | None = None,
    ) -> None: ...

    def record_event(self, record: AuditRecord) -> int: ...

    def open_intents(self) -> list[AuditRecord]: ...

    def audit(
        self,
        *,
        since: datetime | None = None,
        flow: FlowRef | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]: ...

    def save_prior_states(
        self, rule: str, states: Mapping[FlowRef, State], *, at: datetime
    ) -> None: ...

    def prior_states(self, rule: str) -> dict[FlowRef, State]: ...

    def all_prior_states(self) -> dict[str, dict[FlowRef, State]]: ...

    def clear_prior_states(self, rule: str, flows: Iterable[FlowRef] | None = None) -> None: ...

    def desired_memory(self) -> dict[FlowRef, str]: ...

    def remember_desired(self, entries: Mapping[FlowRef, str], *, at: datetime) -> None: ...

    def set_override(self, override: OverrideRecord) -> None: ...

    def clear_override(self, flow: FlowRef) -> bool: ...

    def overrides(self, *, now: datetime) -> list[OverrideRecord]: ...

    def close(self) -> None: ...


def _ts(value: datetime) -> str:
    """UTC ISO 8601, so that text order is time order in SQL comparisons."""
    if value.tzinfo is None:
        raise ValueError("store timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat()


class SqliteStore:
    """`Store` on one SQLite file. Safe to share between threads (one lock, short calls)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state store {path}: {exc}") from None
        self._lock = threading.Lock()

    @classmethod
    def in_dir(cls, state_dir: Path) -> SqliteStore:
        return cls(state_dir / DB_NAME)

    def _execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from None

    # -- audit ---------------------------------------------------------------------------

    def record_intent(
        self,
        flow: FlowRef,
        *,
        old_status: str | None,
        new_status: str,
        changed_by: str,
        reason: str,
        at: datetime,
    ) -> int:
        return self.record_event(
            AuditRecord(
                event_type="intent",
                flow=flow,
                changed_by=changed_by,
                timestamp=at,
                old_status=old_status,
                new_status=new_status,
                reason=reason,
            )
        )

    def record_outcome(
        self,
        intent_id: int,
        *,
        new_status: str | None,
        result: str,
        at: datetime,
        error: str | None = None,
    ) -> None:
        row = self._execute("SELECT * FROM audit WHERE id = ?", (intent_id,)).fetchone()
        if row is None or row["event_type"] != "intent":
            raise StoreError(f"no intent with id {intent_id} in the audit log")
        self.record_event(
            AuditRecord(
                event_type="outcome",
                flow=FlowRef(row["account"], row["flow_id"]),
                changed_by=row["changed_by"],
                timestamp=at,
                old_status=row["old_status"],
                new_status=new_status,
                result=result,
                error=error,
                reason=row["reason"],
                intent_id=intent_id,
            )
        )

    def record_event(self, record: AuditRecord) -> int:
        cursor = self._execute(
            "INSERT INTO audit (event_type, intent_id, account, flow_id, old_status, new_status,"
            " changed_by, timestamp, result, error, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                record.event_type,
                record.intent_id,
                record.flow.account,
                record.flow.flow_id,
                record.old_status,
                record.new_status,
                record.changed_by,
                _ts(record.timestamp),
                record.result,
                record.error,
                record.reason,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def open_intents(self) -> list[AuditRecord]:
        """Intents with no outcome: changes a crash may have left half-done."""
        rows = self._execute(
            "SELECT * FROM audit AS i WHERE i.event_type = 'intent' AND NOT EXISTS"
            " (SELECT 1 FROM audit AS o WHERE o.intent_id = i.id) ORDER BY i.id"
        ).fetchall()
        return [_audit_record(row) for row in rows]

    def audit(
        self,
        *,
        since: datetime | None = None,
        flow: FlowRef | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Audit rows, newest first."""
        clauses: list[str] = []
        params: list[object] = []
        if since is not None:
            clauses.append("timestamp >= ?")
            params.append(_ts(since))
        if flow is not None:
            clauses.append("account = ? AND flow_id = ?")
            params.extend(flow)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = " LIMIT ?" if limit is not None else ""
        if limit is not None:
            params.append(limit)
        rows = self._execute(
            f"SELECT * FROM audit{where} ORDER BY id DESC{tail}", tuple(params)
        ).fetchall()
        return [_audit_record(row) for row in rows]

    # -- prior states --------------------------------------------------------------------

    def save_prior_states(
        self, rule: str, states: Mapping[FlowRef, State], *, at: datetime
    ) -> None:
        """Record the states flows had when `rule`'s window began. A flow already recorded
        for this rule keeps its first record: a restart inside the window must not overwrite
        the true prior state with the window's own state."""
        for flow, state in states.items():
            self._execute(
                "INSERT OR IGNORE INTO prior_states (rule, account, flow_id, state, recorded_at)"
                " VALUES (?,?,?,?,?)",
                (rule, flow.account, flow.flow_id, str(state), _ts(at)),
            )

    def prior_states(self, rule: str) -> dict[FlowRef, State]:
        rows = self._execute(
            "SELECT account, flow_id, state FROM prior_states WHERE rule = ?", (rule,)
        ).fetchall()
        return {FlowRef(r["account"], r["flow_id"]): State(r["state"]) for r in rows}

    def all_prior_states(self) -> dict[str, dict[FlowRef, State]]:
        """Rule → its recorded prior states, for every rule with a record (one query)."""
        rows = self._execute("SELECT rule, account, flow_id, state FROM prior_states").fetchall()
        found: dict[str, dict[FlowRef, State]] = {}
        for r in rows:
            found.setdefault(r["rule"], {})[FlowRef(r["account"], r["flow_id"])] = State(r["state"])
        return found

    def clear_prior_states(self, rule: str, flows: Iterable[FlowRef] | None = None) -> None:
        if flows is None:
            self._execute("DELETE FROM prior_states WHERE rule = ?", (rule,))
            return
        for flow in flows:
            self._execute(
                "DELETE FROM prior_states WHERE rule = ? AND account = ? AND flow_id = ?",
                (rule, *flow),
            )

    # -- desired memory --------------------------------------------------------------------

    def desired_memory(self) -> dict[FlowRef, str]:
        """Each governed flow's desired state as the engine last applied or confirmed it
        (an opaque key), so a restart can tell a missed transition from drift."""
        rows = self._execute("SELECT account, flow_id, desired FROM desired_memory").fetchall()
        return {FlowRef(r["account"], r["flow_id"]): r["desired"] for r in rows}

    def remember_desired(self, entries: Mapping[FlowRef, str], *, at: datetime) -> None:
        if not entries:
            return
        rows = [(ref.account, ref.flow_id, key, _ts(at)) for ref, key in entries.items()]
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.executemany(
                        "INSERT OR REPLACE INTO desired_memory"
                        " (account, flow_id, desired, recorded_at) VALUES (?,?,?,?)",
                        rows,
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from None

    # -- overrides -----------------------------------------------------------------------

    def set_override(self, override: OverrideRecord) -> None:
        self._execute(
            "INSERT OR REPLACE INTO overrides (account, flow_id, state, until, created_by,"
            " created_at) VALUES (?,?,?,?,?,?)",
            (
                override.flow.account,
                override.flow.flow_id,
                override.state,
                _ts(override.until),
                override.created_by,
                _ts(override.created_at),
            ),
        )

    def clear_override(self, flow: FlowRef) -> bool:
        cursor = self._execute(
            "DELETE FROM overrides WHERE account = ? AND flow_id = ?", tuple(flow)
        )
        return cursor.rowcount > 0

    def overrides(self, *, now: datetime) -> list[OverrideRecord]:
        """Overrides still in force at `now` (an override always has an end)."""
        rows = self._execute("SELECT * FROM overrides ORDER BY account, flow_id").fetchall()
        records = [
            OverrideRecord(
                flow=FlowRef(r["account"], r["flow_id"]),
                state=r["state"],
                until=datetime.fromisoformat(r["until"]),
                created_by=r["created_by"],
                created_at=datetime.fromisoformat(r["created_at"]),
            )
            for r in rows
        ]
        return [record for record in records if record.until > now]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _audit_record(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        event_type=row["event_type"],
        intent_id=row["intent_id"],
        flow=FlowRef(row["account"], row["flow_id"]),
        old_status=row["old_status"],
        new_status=row["new_status"],
        changed_by=row["changed_by"],
        timestamp=datetime.fromisoformat(row["timestamp"]),
        result=row["result"],
        error=row["error"],
        reason=row["reason"],
    )
