"""The store contract runs against both backends: `store` is a fresh SQLite store in a temp
state directory, or a fresh PostgreSQL store in a schema of its own (upgraded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui.store import SqliteStore, Store
from flowtui.store.admin import upgrade_database
from flowtui.store.postgres import PostgresStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "sqlite":
        opened = SqliteStore.in_dir(tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        upgrade_database(url)
        opened = PostgresStore(url)
    try:
        yield opened
    finally:
        opened.close()
