"""`Store` on PostgreSQL (team mode, SPEC §8): one database shared by every replica,
operator app and CLI. Ordinary queries go through a small connection pool (autocommit);
the lease and LISTEN use one dedicated connection of their own (flowtui.store.leases).

An intent written under a `Fence` is inserted only if the scheduler's lease still carries
the fence's epoch — checked in the same statement, with the lease row share-locked so a
takeover waits for it — so a deposed leader records nothing and therefore sends nothing.
Hand changes are audited with the person and the host (`cli:alice@laptop`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from flowtui.model import FlowRef, State
from flowtui.store import queries
from flowtui.store.open import redact_url
from flowtui.store.pg_schema import check_version
from flowtui.store.records import (
    PRUNE_BATCH,
    AuditLog,
    AuditRecord,
    Fence,
    Fenced,
    OverrideRecord,
    RetentionCounter,
    StoreError,
    utc,
)
from flowtui.store.sqlite import priors_by_rule

OVERRIDES_CHANNEL = "flowtui_overrides"  # NOTIFY'd on every override change
AUDIT_CHANNEL = "flowtui_audit"  # NOTIFY'd with the id of every new audit row
CONNECT_TIMEOUT = 5  # seconds: an unreachable host is a clear error, soon
# after the database could not be reached, calls fail at once for this long (seconds)
UNREACHABLE_FOR = 2.0
POOL_SIZE = 4
HUMAN_PREFIXES = ("tui:", "cli:")

_AUDIT_COLUMNS = (
    "event_type, intent_id, account, flow_id, old_status, new_status, changed_by, host,"
    " timestamp, result, error, reason, epoch"
)


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A direct connection (autocommit); one clear StoreError when it cannot be made."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **kwargs)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to {redact_url(url)}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStore(AuditLog):
    """`Store` on one PostgreSQL database (and schema: the URL's search_path)."""

    def __init__(self, url: str, *, retention: timedelta | None = None) -> None:
        self.where = redact_url(url)
        self.host = socket.gethostname()
        self.fence: Fence | None = None
        self._retention = RetentionCounter(retention)
        self._unreachable = ("", 0.0)  # the last connection failure, and until when it holds
        self._monotonic = time.monotonic
        with connect(url) as conn:  # a clear error for a wrong password or a newer schema
            check_version(conn, self.where)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            # a connection the server dropped while it sat in the pool (a restart, a
            # failover of a managed database) is replaced before use, not handed out to
            # fail one statement per pooled connection
            check=ConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT * 2,
            open=True,
            name="flowtui-store",
        )

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; StoreError for any database error. Calls block the event
        loop they are made on, and while the database is down each would wait the pool's
        timeout: so for a moment after a connection failure they fail at once, and a pass
        making many calls (or a stop waiting for it) ends in seconds, not minutes."""
        reason, until = self._unreachable
        if self._monotonic() < until:
            raise StoreError(f"state store {self.where}: {reason}")
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self._unreachable = (_first_line(exc), self._monotonic() + UNREACHABLE_FOR)
            raise StoreError(f"state store {self.where}: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            raise StoreError(f"state store {self.where}: {_first_line(exc)}") from None

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """Run one statement on a pooled connection; its rows (empty for none)."""
        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, tuple(params))
            return cur.fetchall() if cur.description else [{"rowcount": cur.rowcount}]

    # -- audit ---------------------------------------------------------------------------

    def audit_row(self, row_id: int) -> AuditRecord | None:
        rows = self._rows("SELECT * FROM audit WHERE id = %s", (row_id,))
        return _audit_record(rows[0]) if rows else None

    def _who(self, changed_by: str) -> str:
        """A person's change names the host too: `tui:alice` → `tui:alice@laptop`."""
        if changed_by.startswith(HUMAN_PREFIXES) and "@" not in changed_by:
            return f"{changed_by}@{self.host}"
        return changed_by

    def record_event(self, record: AuditRecord) -> int:
        fence = self.fence if record.event_type == "intent" else None
        if fence is None and record.event_type == "intent" and _by_scheduler(record):
            raise Fenced("not recorded: a scheduler intent needs the lease (this is a standby)")
        values = (
            record.event_type,
            record.intent_id,
            record.flow.account,
            record.flow.flow_id,
            record.old_status,
            record.new_status,
            self._who(record.changed_by),
            self.host,
            utc(record.timestamp),
            record.result,
            record.error,
            record.reason,
            fence.epoch if fence else None,
        )
        placeholders = ", ".join(["%s"] * len(values))
        # one round trip: insert, and tell every listening app (live audit) its id
        notify = f"SELECT id, pg_notify('{AUDIT_CHANNEL}', id::text) FROM written"
        if fence is None:
            insert = f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES ({placeholders}) RETURNING id"
            rows = self._rows(f"WITH written AS ({insert}) {notify}", values)
        else:
            insert = (
                f"INSERT INTO audit ({_AUDIT_COLUMNS}) SELECT {placeholders} WHERE EXISTS"
                " (SELECT 1 FROM leases WHERE scheduler = %s AND epoch = %s"
                " AND expires_at > clock_timestamp() FOR SHARE) RETURNING id"
            )
            params = (*values, fence.scheduler, fence.epoch)
            rows = self._rows(f"WITH written AS ({insert}) {notify}", params)
            if not rows:
                raise Fenced(
                    f"not recorded: scheduler {fence.scheduler!r} is no longer led under"
                    f" epoch {fence.epoch} (another replica took over)"
                )
        cutoff = self._retention.due(record.timestamp) if self.fence is not None else None
        if cutoff is not None:  # only the leader prunes (and only it may, see db grant)
            self.prune_audit(cutoff)
        return int(rows[0]["id"])

    def prune_audit(self, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Delete at most `batch` audit rows older than `before`, never an open intent."""
        return int(self._rows(queries.prune("%s"), (utc(before), batch))[0]["rowcount"])

    def open_intents(self) -> list[AuditRecord]:
        return [_audit_record(row) for row in self._rows(queries.OPEN_INTENTS)]

    def audit(
        self,
        *,
        since: datetime | None = None,
        flow: FlowRef | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        sql, params = queries.audit("%s", since and utc(since), flow, limit)
        return [_audit_record(row) for row in self._rows(sql, params)]

    # -- prior states --------------------------------------------------------------------

    def save_prior_states(
        self, rule: str, states: Mapping[FlowRef, State], *, at: datetime
    ) -> None:
        """A flow already recorded for this rule keeps its first record (as SQLite)."""
        for flow, state in states.items():
            self._rows(
                "INSERT INTO prior_states (rule, account, flow_id, state, recorded_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (rule, flow.account, flow.flow_id, str(state), utc(at)),
            )

    def prior_states(self, rule: str) -> dict[FlowRef, State]:
        return self.all_prior_states().get(rule, {})

    def all_prior_states(self) -> dict[str, dict[FlowRef, State]]:
        rows = self._rows("SELECT rule, account, flow_id, state FROM prior_states")
        return priors_by_rule((r["rule"], r["account"], r["flow_id"], r["state"]) for r in rows)

    def clear_prior_states(self, rule: str, flows: Iterable[FlowRef] | None = None) -> None:
        if flows is None:
            self._rows("DELETE FROM prior_states WHERE rule = %s", (rule,))
            return
        for flow in flows:
            self._rows(
                "DELETE FROM prior_states WHERE rule = %s AND account = %s AND flow_id = %s",
                (rule, *flow),
            )

    # -- desired memory ------------------------------------------------------------------

    def desired_memory(self) -> dict[FlowRef, str]:
        """Each governed flow's desired state as the leader last applied or confirmed it."""
        rows = self._rows("SELECT account, flow_id, desired FROM desired_memory")
        return {FlowRef(r["account"], r["flow_id"]): r["desired"] for r in rows}

    def remember_desired(self, entries: Mapping[FlowRef, str], *, at: datetime) -> None:
        if not entries:
            return
        rows = [(ref.account, ref.flow_id, key, utc(at)) for ref, key in entries.items()]
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO desired_memory (account, flow_id, desired, recorded_at)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (account, flow_id) DO UPDATE SET"
                " desired = EXCLUDED.desired, recorded_at = EXCLUDED.recorded_at",
                rows,
            )

    # -- overrides -----------------------------------------------------------------------

    def set_override(self, override: OverrideRecord) -> None:
        self._rows(
            "INSERT INTO overrides (account, flow_id, state, until, created_by, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (account, flow_id) DO UPDATE SET"
            " state = EXCLUDED.state, until = EXCLUDED.until,"
            " created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at",
            (
                override.flow.account,
                override.flow.flow_id,
                override.state,
                utc(override.until),
                self._who(override.created_by),
                utc(override.created_at),
            ),
        )
        self._notify(OVERRIDES_CHANNEL, str(override.flow))

    def _notify(self, channel: str, payload: str) -> None:
        """Tell listeners (the leader, open apps) at once instead of at their next poll."""
        self._rows("SELECT pg_notify(%s, %s)", (channel, payload))

    def clear_override(self, flow: FlowRef) -> bool:
        rows = self._rows("DELETE FROM overrides WHERE account = %s AND flow_id = %s", tuple(flow))
        removed = int(rows[0]["rowcount"]) > 0
        if removed:
            self._notify(OVERRIDES_CHANNEL, str(flow))
        return removed

    def overrides(self, *, now: datetime) -> list[OverrideRecord]:
        rows = self._rows(
            "SELECT * FROM overrides WHERE until > %s ORDER BY account, flow_id", (utc(now),)
        )
        return [
            OverrideRecord(
                flow=FlowRef(r["account"], r["flow_id"]),
                state=r["state"],
                until=r["until"].astimezone(UTC),
                created_by=r["created_by"],
                created_at=r["created_at"].astimezone(UTC),
            )
            for r in rows
        ]

    def close(self) -> None:
        self._pool.close()


def _by_scheduler(record: AuditRecord) -> bool:
    return record.changed_by.startswith("scheduler:")


def _audit_record(row: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        event_type=row["event_type"],
        intent_id=row["intent_id"],
        flow=FlowRef(row["account"], row["flow_id"]),
        old_status=row["old_status"],
        new_status=row["new_status"],
        changed_by=row["changed_by"],
        timestamp=row["timestamp"].astimezone(UTC),
        result=row["result"],
        error=row["error"],
        reason=row["reason"],
    )
