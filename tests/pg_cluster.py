"""The PostgreSQL server of the team-mode tests: FLOWTUI_TEST_PG_URL when `.ci/run` started
one (`.ci/postgres start`), else a cluster this session starts with the same script and
stops at its end. No server is a failure, never a skip. Each test gets a schema of its own
in that one server (the URL's search_path), which is much cheaper than a database."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "postgres"
_schemas = itertools.count(1)


def _start() -> tuple[str, str]:
    done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"no PostgreSQL server for the team-mode tests: {done.stderr.strip()}")
    found = dict(
        item.split("=", 1) for item in done.stdout.split() if "=" in item and item != "export"
    )
    return found["FLOWTUI_TEST_PG_URL"], found["FLOWTUI_TEST_PG_DIR"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The superuser URL of a running server."""
    given = os.environ.get("FLOWTUI_TEST_PG_URL")
    if given:
        yield given
        return
    url, directory = _start()
    try:
        yield url
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", directory], check=False)


def with_schema(url: str, schema: str) -> str:
    """`url` whose sessions work in `schema` (and find nothing of other tests)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL to an empty schema of its own (not yet upgraded), dropped afterwards."""
    schema = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(pg_server, schema)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


class OwnServer:
    """A throwaway server of one test's own, for faults of the server itself: `restart`
    stops it and starts it again (the shared one, which other tests use, is never touched)."""

    def __init__(self) -> None:
        self.url, self.directory = _start()

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (fast shutdown: sessions cut), wait, start it again."""
        subprocess.run(["bash", str(SCRIPT), "down", self.directory], check=True)
        time.sleep(down_seconds)  # the outage under test, not a wait for readiness
        subprocess.run(["bash", str(SCRIPT), "up", self.directory], check=True)

    def close(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop", self.directory], check=False)


@pytest.fixture
def own_pg() -> Iterator[OwnServer]:
    server = OwnServer()
    try:
        yield server
    finally:
        server.close()
