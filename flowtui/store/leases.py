"""The scheduler lease in the team-mode database (SPEC §8): one row per scheduler name
(holder `host:pid`, epoch, expiry, last renewal), on one dedicated connection of its own —
never a pooled one, and through PgBouncer only in session mode — so that renewals are not
queued behind ordinary queries. Expiry is the database's clock, the one all replicas share.

Taking the lease succeeds only when there is no row or its expiry has passed, and always
bumps the epoch; renewing succeeds only for the current holder and epoch before expiry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from flowtui.store.open import redact_url
from flowtui.store.postgres import connect
from flowtui.store.records import StoreError


@dataclass(frozen=True)
class Lease:
    scheduler: str
    holder: str
    epoch: int
    expires_at: datetime
    renewed_at: datetime
    heartbeat_age: timedelta  # database time since the last renewal

    @property
    def expired(self) -> bool:
        return self.heartbeat_age >= self.expires_at - self.renewed_at


class LeaseStore:
    """Lease operations for `scheduler` on a dedicated connection (reconnected after a
    failure). Every method raises StoreError when the database cannot be reached."""

    def __init__(self, url: str, scheduler: str) -> None:
        self._url = url
        self.where = redact_url(url)
        self.scheduler = scheduler
        self._conn: psycopg.Connection[Any] | None = None
        self._channels: tuple[str, ...] = ()

    def _connection(self) -> psycopg.Connection[Any]:
        """The dedicated connection, (re)made with its LISTENs when needed."""
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url)
            for channel in self._channels:
                self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        return self._conn

    def _run(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            cursor = self._connection().execute(query, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"lease on {self.where}: {str(exc).strip()[:200]}") from None

    def try_acquire(self, holder: str, duration: timedelta) -> int | None:
        """The new epoch if `holder` took the lease (none or an expired one), else None."""
        rows = self._run(
            "INSERT INTO leases (scheduler, holder, epoch, expires_at, renewed_at)"
            " VALUES (%s, %s, 1, clock_timestamp() + %s, clock_timestamp())"
            " ON CONFLICT (scheduler) DO UPDATE SET holder = EXCLUDED.holder,"
            " epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at,"
            " renewed_at = EXCLUDED.renewed_at"
            " WHERE leases.expires_at <= clock_timestamp() RETURNING epoch",
            (self.scheduler, holder, duration),
        )
        return int(rows[0][0]) if rows else None

    def renew(self, holder: str, epoch: int, duration: timedelta) -> bool:
        """Extend the lease; False when it is no longer ours (expired or taken over)."""
        rows = self._run(
            "UPDATE leases SET expires_at = clock_timestamp() + %s, renewed_at = clock_timestamp()"
            " WHERE scheduler = %s AND holder = %s AND epoch = %s"
            " AND expires_at > clock_timestamp() RETURNING epoch",
            (duration, self.scheduler, holder, epoch),
        )
        return bool(rows)

    def release(self, holder: str, epoch: int) -> None:
        """End our lease now, so that a standby takes over without waiting for expiry."""
        self._run(
            "UPDATE leases SET expires_at = clock_timestamp()"
            " WHERE scheduler = %s AND holder = %s AND epoch = %s",
            (self.scheduler, holder, epoch),
        )

    def current(self) -> Lease | None:
        """The lease row as it stands (for status: leader, heartbeat age), if any."""
        rows = self._run(
            "SELECT holder, epoch, expires_at, renewed_at, clock_timestamp() - renewed_at"
            " FROM leases WHERE scheduler = %s",
            (self.scheduler,),
        )
        if not rows:
            return None
        holder, epoch, expires_at, renewed_at, age = rows[0]
        return Lease(
            self.scheduler,
            holder,
            int(epoch),
            expires_at.astimezone(UTC),
            renewed_at.astimezone(UTC),
            age,
        )

    def listen(self, *channels: str) -> None:
        """LISTEN on the lease's connection (e.g. OVERRIDES_CHANNEL), also after reconnecting."""
        new = [channel for channel in channels if channel not in self._channels]
        self._channels += tuple(new)
        try:
            if self._conn is None or self._conn.closed:
                self._connection()  # listens on every channel
                return
            for channel in new:
                self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"listen on {self.where}: {str(exc).strip()[:200]}") from None

    def wait(self, timeout: float) -> list[str]:
        """Channels notified within `timeout` seconds (empty when none). Shares the lease's
        connection, so the caller interleaves it with renewals (flowtui.engine.leadership)."""
        if not self._channels:
            time.sleep(timeout)
            return []
        try:
            notes = self._connection().notifies(timeout=timeout, stop_after=1)
            return [note.channel for note in notes]
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"listen on {self.where}: {str(exc).strip()[:200]}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
