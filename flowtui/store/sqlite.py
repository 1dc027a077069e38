"""`Store` on one SQLite file in the state directory (the default, single-machine backend).

Every write commits at once (autocommit, WAL), so an intent row is on disk before the change
it announces is sent: a crash between the two leaves an open intent that the next start
finds with `open_intents()` and re-verifies. Rows written together (`record_events`, a
bulk change's intents or outcomes; prior states; desired memory) share one transaction: a
commit per row made a thousand-flow change spend most of its time waiting on the disk.

A marker file beside the database records that a store was created here: a database that
is later found empty or missing (`truncate -s 0`, a lost file) is an error, never a silent
fresh start. `read_only=True` opens a copy without writing anything (a backup in a
read-only directory), for `flowtui audit` and `flowtui plan`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flowtui.model import FlowRef, State
from flowtui.store import queries
from flowtui.store.records import (
    PRUNE_BATCH,
    AuditLog,
    AuditRecord,
    Fence,
    IntentOutcome,
    OverrideRecord,
    RetentionCounter,
    SchemaMismatch,
    StoreError,
    utc,
)
from flowtui.store.statedir import prepare_state_dir, private_file, tighten, write_private

DB_NAME = "flowtui.sqlite3"
INSERT_AUDIT = (
    "INSERT INTO audit (event_type, intent_id, account, flow_id, old_status, new_status,"
    " changed_by, timestamp, result, error, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
CLOSE_INTENT = (  # the outcome row copies flow, author, old status and reason from its intent
    "INSERT INTO audit (event_type, intent_id, account, flow_id, old_status, new_status,"
    " changed_by, timestamp, result, error, reason) SELECT 'outcome', id, account, flow_id,"
    " old_status, ?, changed_by, ?, ?, ?, reason FROM audit WHERE id = ? AND event_type = 'intent'"
)
IDS_PER_QUERY = 500  # below SQLite's smallest limit on host parameters (999)
MARKER_NAME = "flowtui.sqlite3.created"
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


def _ts(value: datetime) -> str:
    """UTC ISO 8601, so that text order is time order in SQL comparisons."""
    return utc(value).isoformat()


class _Garbled(str):
    """Text read back from bytes that were not valid UTF-8 (bad bytes shown as U+FFFD)."""


def _decode(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return _Garbled(raw.decode(errors="replace"))


def store_exists(state_dir: Path) -> bool:
    """Whether a store was ever created in `state_dir` (its database or its marker)."""
    return (state_dir / DB_NAME).exists() or (state_dir / MARKER_NAME).exists()


class SqliteStore(AuditLog):
    """`Store` on one SQLite file. Safe to share between threads (one lock, short calls)."""

    fence: Fence | None = None  # one machine: the scheduler lock file is the lease

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        retention: timedelta | None = None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._marker = path.with_name(MARKER_NAME)
        self._retention = RetentionCounter(retention)
        self._lock = threading.Lock()
        self._db = self._open_read_only() if read_only else self._open_writable()
        self._check_schema()

    @classmethod
    def in_dir(
        cls, state_dir: Path, *, read_only: bool = False, retention: timedelta | None = None
    ) -> SqliteStore:
        return cls(state_dir / DB_NAME, read_only=read_only, retention=retention)

    # -- opening --------------------------------------------------------------------------

    def _connect(self, target: str | Path, *, uri: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
        db.row_factory = sqlite3.Row
        db.text_factory = _decode
        return db

    def _open_writable(self) -> sqlite3.Connection:
        prepare_state_dir(self.path.parent)
        self._refuse_if_emptied()
        private_file(self.path)  # 0600 before SQLite creates it (its -wal/-shm copy the mode)
        try:
            db = self._connect(self.path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state store {self.path}: {exc}") from None
        for suffix in ("-wal", "-shm"):
            tighten(self.path.with_name(self.path.name + suffix))
        if not self._marker.exists():
            write_private(self._marker, f"flowtui state store {self.path.name}\n")
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        """Read without writing: `mode=ro`, and where even the WAL index cannot be made (a
        read-only directory), `immutable=1` — right for a backup nobody writes."""
        self._refuse_if_emptied()
        if not self.path.exists():
            raise StoreError(f"no state store at {self.path}")
        last: sqlite3.Error | None = None
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            try:
                db = self._connect(f"{self.path.resolve().as_uri()}?{flags}", uri=True)
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.Error as exc:
                last = exc
        raise StoreError(f"cannot open the state store {self.path} read-only: {last}")

    def _refuse_if_emptied(self) -> None:
        if not self._marker.exists():
            return
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise StoreError(
                f"the state store {self.path} is {'empty' if self.path.exists() else 'missing'}"
                f" but a store was created here ({self._marker.name}): restore it from a backup,"
                f" or delete {self._marker} to start afresh on purpose"
            )

    def _check_schema(self) -> None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"the state store {self.path} is unreadable: {exc}") from None
        version = int(row["value"]) if row is not None else None
        if version is None:
            raise StoreError(f"the state store {self.path} has no flowtui schema")
        if version > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the state store {self.path} has schema version {version}, newer than this"
                f" flowtui knows ({SCHEMA_VERSION}): upgrade flowtui"
            )

    def _execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction for several statements: committed at the end, or none of it."""
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN")
                    yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from None

    # -- audit ---------------------------------------------------------------------------

    def audit_row(self, row_id: int) -> AuditRecord | None:
        row = self._execute("SELECT * FROM audit WHERE id = ?", (row_id,)).fetchone()
        return None if row is None else _audit_record(row)

    def audit_rows(self, row_ids: Iterable[int]) -> dict[int, AuditRecord]:
        wanted = list(dict.fromkeys(row_ids))
        found: dict[int, AuditRecord] = {}
        for start in range(0, len(wanted), IDS_PER_QUERY):
            part = wanted[start : start + IDS_PER_QUERY]
            marks = ",".join("?" * len(part))
            rows = self._execute(f"SELECT * FROM audit WHERE id IN ({marks})", tuple(part))
            found.update((row["id"], _audit_record(row)) for row in rows.fetchall())
        return found

    def record_event(self, record: AuditRecord) -> int:
        return self.record_events([record])[0]

    def record_events(self, records: Sequence[AuditRecord]) -> list[int]:
        if not records:
            return []
        ids = []
        with self._transaction() as db:
            for record in records:
                cursor = db.execute(INSERT_AUDIT, _audit_values(record))
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        self._prune_after([record.timestamp for record in records])
        return ids

    def record_outcomes(self, outcomes: Sequence[IntentOutcome]) -> None:
        """As AuditLog's, in one statement per row that copies the intent inside SQLite."""
        if not outcomes:
            return
        rows = [(o.new_status, _ts(o.at), o.result, o.error, o.intent_id) for o in outcomes]
        with self._transaction() as db:
            written = db.executemany(CLOSE_INTENT, rows).rowcount
        self._prune_after([outcome.at for outcome in outcomes[:written]])
        if written < len(outcomes):
            found = self.audit_rows(outcome.intent_id for outcome in outcomes)
            missing = [
                str(o.intent_id)
                for o in outcomes
                if o.intent_id not in found or found[o.intent_id].event_type != "intent"
            ]
            raise StoreError(f"no intent with id {', '.join(missing)} in the audit log")

    def _prune_after(self, written: Sequence[datetime]) -> None:
        """Count audit writes at these times; prune when the retention counter says so."""
        due = [cutoff for at in written if (cutoff := self._retention.due(at)) is not None]
        if due:
            self.prune_audit(max(due))

    def prune_audit(self, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Delete at most `batch` audit rows older than `before`, never an open intent."""
        return self._execute(queries.prune("?"), (_ts(before), batch)).rowcount

    def open_intents(self) -> list[AuditRecord]:
        """Intents with no outcome: changes a crash may have left half-done."""
        rows = self._execute(queries.OPEN_INTENTS).fetchall()
        return [_audit_record(row) for row in rows]

    def audit(
        self,
        *,
        since: datetime | None = None,
        flow: FlowRef | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Audit rows, newest first."""
        sql, params = queries.audit("?", since and _ts(since), flow, limit)
        return [_audit_record(row) for row in self._execute(sql, params).fetchall()]

    # -- prior states --------------------------------------------------------------------

    def save_prior_states(
        self, rule: str, states: Mapping[FlowRef, State], *, at: datetime
    ) -> None:
        """Record the states flows had when `rule`'s window began. A flow already recorded
        for this rule keeps its first record: a restart inside the window must not overwrite
        the true prior state with the window's own state."""
        rows = [
            (rule, flow.account, flow.flow_id, str(state), _ts(at))
            for flow, state in states.items()
        ]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO prior_states (rule, account, flow_id, state, recorded_at)"
                " VALUES (?,?,?,?,?)",
                rows,
            )

    def prior_states(self, rule: str) -> dict[FlowRef, State]:
        return self.all_prior_states().get(rule, {})

    def all_prior_states(self) -> dict[str, dict[FlowRef, State]]:
        """Rule → its recorded prior states, for every rule with a record (one query)."""
        rows = self._execute("SELECT rule, account, flow_id, state FROM prior_states").fetchall()
        return priors_by_rule((r["rule"], r["account"], r["flow_id"], r["state"]) for r in rows)

    def clear_prior_states(self, rule: str, flows: Iterable[FlowRef] | None = None) -> None:
        if flows is None:
            self._execute("DELETE FROM prior_states WHERE rule = ?", (rule,))
            return
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM prior_states WHERE rule = ? AND account = ? AND flow_id = ?",
                [(rule, *flow) for flow in flows],
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
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO desired_memory"
                " (account, flow_id, desired, recorded_at) VALUES (?,?,?,?)",
                rows,
            )

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
                until=_moment(r["until"]),
                created_by=r["created_by"],
                created_at=_moment(r["created_at"]),
            )
            for r in rows
        ]
        return [record for record in records if record.until > now]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def priors_by_rule(rows: Iterable[tuple[str, str, str, str]]) -> dict[str, dict[FlowRef, State]]:
    """(rule, account, flow_id, state) rows → rule → flow → state."""
    found: dict[str, dict[FlowRef, State]] = {}
    for rule, account, flow_id, state in rows:
        found.setdefault(rule, {})[FlowRef(account, flow_id)] = State(state)
    return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _audit_values(record: AuditRecord) -> tuple[object, ...]:
    return (
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
    )


def _moment(text: str) -> datetime:
    """A stored time; a damaged one reads as the epoch rather than failing the whole read."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return _EPOCH


def _audit_record(row: sqlite3.Row) -> AuditRecord:
    damaged = any(isinstance(value, _Garbled) for value in tuple(row))
    try:
        timestamp = datetime.fromisoformat(row["timestamp"])
    except (TypeError, ValueError):
        timestamp, damaged = _EPOCH, True
    return AuditRecord(
        id=row["id"],
        event_type=row["event_type"],
        intent_id=row["intent_id"],
        flow=FlowRef(row["account"], row["flow_id"]),
        old_status=row["old_status"],
        new_status=row["new_status"],
        changed_by=row["changed_by"],
        timestamp=timestamp,
        result=row["result"],
        error=row["error"],
        reason=row["reason"],
        damaged=damaged,
    )
