"""Rotated tokens in the team-mode database (SPEC §8), so that every replica and operator
shares them: the PostgreSQL twin of flowtui.providers.tokens.TokenStore, with the same
`load` / `save` / `locked` interface.

`locked()` holds a transaction on a connection of its own with the account's lock taken
(a transaction-scoped advisory lock, which also covers an account with no row yet, plus the
row itself `FOR UPDATE`): another process refreshing the same account waits, then re-reads
the newer pair and uses it instead of spending a refresh token that is already spent.
`save` inside `locked()` writes in that transaction, so the new pair is visible exactly
when the lock is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from flowtui.providers.base import AuthError
from flowtui.providers.tokens import Stored, TokenPair
from flowtui.store.postgres import connect
from flowtui.store.records import StoreError

_LOCK_SPACE = "flowtui-token:"


class SharedTokenStore:
    """The newest pair of one account, in the shared database."""

    def __init__(self, url: str, account: str) -> None:
        self._url = url
        self.account = account
        self._held: psycopg.Connection[Any] | None = None  # the locked transaction's

    def _query(self, conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> Any:
        return conn.execute(sql, params).fetchone()

    def load(self, seed: TokenPair) -> Stored:
        """The stored pair if it descends from `seed`, else `seed` itself (generation 0)."""
        sql = "SELECT seed, access_token, refresh_token, generation FROM tokens WHERE account = %s"
        try:
            if self._held is not None:
                row = self._query(self._held, sql + " FOR UPDATE", (self.account,))
            else:
                with connect(self._url) as conn:
                    row = self._query(conn, sql, (self.account,))
        except (psycopg.Error, StoreError) as exc:
            raise AuthError(f"cannot read the shared token of {self.account}: {exc}") from None
        if row is None or row[0] != seed.fingerprint():
            return Stored(seed)
        return Stored(TokenPair(row[1], row[2]), int(row[3]))

    def save(self, stored: Stored, seed: TokenPair) -> None:
        sql = (
            "INSERT INTO tokens (account, seed, access_token, refresh_token, generation,"
            " updated_at) VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (account) DO UPDATE"
            " SET seed = EXCLUDED.seed, access_token = EXCLUDED.access_token,"
            " refresh_token = EXCLUDED.refresh_token, generation = EXCLUDED.generation,"
            " updated_at = now()"
        )
        params = (
            self.account,
            seed.fingerprint(),
            stored.pair.access,
            stored.pair.refresh,
            stored.generation,
        )
        try:
            if self._held is not None:
                self._held.execute(sql, params)
            else:
                with connect(self._url) as conn:
                    conn.execute(sql, params)
        except (psycopg.Error, StoreError) as exc:
            raise AuthError(f"cannot store the shared token of {self.account}: {exc}") from None

    def _take(self) -> psycopg.Connection[Any]:
        conn = connect(self._url)
        try:
            conn.execute("BEGIN")
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_SPACE + self.account,)
            )
        except psycopg.Error as exc:
            conn.close()
            raise AuthError(f"cannot lock the shared token of {self.account}: {exc}") from None
        return conn

    @staticmethod
    def _finish(conn: psycopg.Connection[Any], commit: bool) -> None:
        try:
            conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            conn.close()

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Hold the account's refresh lock (other processes wait; the event loop does not)."""
        try:
            conn = await asyncio.to_thread(self._take)
        except StoreError as exc:
            raise AuthError(str(exc)) from None
        self._held = conn
        ok = False
        try:
            yield
            ok = True
        finally:
            self._held = None
            await asyncio.to_thread(self._finish, conn, ok)
