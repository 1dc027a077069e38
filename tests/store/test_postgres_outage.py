"""While the database is down, each store call would hold the event loop it is made on for
the pool's whole timeout: a pass of many calls, and a stop waiting for it, for minutes (a
replica once outlived SIGTERM by 30 s after a restart of its database). Right after a
connection failure, calls fail at once for a moment; then they try the database again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from flowtui.store import StoreError
from flowtui.store.admin import upgrade_database
from flowtui.store.postgres import UNREACHABLE_FOR, PostgresStore


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    upgrade_database(pg_url)
    opened = PostgresStore(pg_url)
    yield opened
    opened.close()


def test_after_a_connection_failure_calls_fail_at_once_then_try_again(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def down(*args: Any, **kwargs: Any) -> Any:
        attempts.append("connect")
        raise psycopg.OperationalError("the database system is shutting down")

    monkeypatch.setattr(store._pool, "connection", down)
    with pytest.raises(StoreError, match="shutting down"):
        store.desired_memory()
    with pytest.raises(StoreError, match="shutting down"):
        store.open_intents()
    assert attempts == ["connect"]  # the second call did not wait on the pool

    monkeypatch.undo()
    later = store._monotonic() + UNREACHABLE_FOR
    monkeypatch.setattr(store, "_monotonic", lambda: later)
    assert store.desired_memory() == {}  # the moment over, the database is asked again


def test_a_statement_error_is_not_an_outage(store: PostgresStore) -> None:
    with pytest.raises(StoreError):
        store._rows("SELECT * FROM no_such_table")
    assert store.desired_memory() == {}
