"""`flowtui db grant`: least privilege enforced by PostgreSQL itself. Each test connects as
a role of each kind and shows the database refusing what that kind may not do."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner

from flowtui.cli import main
from flowtui.model import FlowRef
from flowtui.store import AuditRecord, Fence, Fenced, OverrideRecord, StoreError
from flowtui.store.leases import LeaseStore
from flowtui.store.postgres import PostgresStore

FLOW = FlowRef("support", "wf_1")
NOW = datetime.now(UTC)
_roles = itertools.count(1)
REFUSED = "permission denied|row-level security"


def as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))


@pytest.fixture
def team(tmp_path: Path, pg_url: str) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "schedules.toml"
    config.write_text('[settings]\nstate_url_env = "FLOWTUI_TEST_STATE_URL"\n')
    env = {"FLOWTUI_TEST_STATE_URL": pg_url}
    result = CliRunner().invoke(main, ["--config", str(config), "db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert "upgraded from version 0 to 1" in result.stdout
    assert "***" in result.stdout  # the password is never printed
    assert urlsplit(pg_url).password not in result.stdout
    return config, env


@pytest.fixture
def role(
    pg_server: str, team: tuple[Path, dict[str, str]], pg_url: str
) -> Iterator[Callable[[str], str]]:
    """role(kind) → a URL connecting as a new login role granted `kind` by the CLI."""
    made: list[str] = []
    config, env = team

    def make(kind: str) -> str:
        name = f"flowtui_{kind}_{os.getpid()}_{next(_roles)}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'")
        made.append(name)
        result = CliRunner().invoke(
            main, ["--config", str(config), "db", "grant", f"--{kind}", name], env=env
        )
        assert result.exit_code == 0, result.output
        return as_role(pg_url, name, f"pw-{name}")

    yield make
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in made:
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


def override() -> OverrideRecord:
    return OverrideRecord(FLOW, "skip", NOW + timedelta(hours=1), "cli:alice", NOW)


def hand_change(store: PostgresStore) -> int:
    return store.record_intent(
        FLOW,
        old_status="enabled",
        new_status="disabled",
        changed_by="cli:alice",
        reason="manual",
        at=NOW,
    )


def scheduler_intent(store: PostgresStore) -> int:
    return store.record_intent(
        FLOW,
        old_status="enabled",
        new_status="disabled",
        changed_by="scheduler:nightly",
        reason="window",
        at=NOW,
    )


def test_a_reader_reads_but_the_database_refuses_its_writes(role: Callable[[str], str]) -> None:
    url = role("reader")
    store = PostgresStore(url)
    leases = LeaseStore(url, "default")
    try:
        assert store.audit() == []
        assert store.overrides(now=NOW) == []
        with pytest.raises(StoreError, match=REFUSED):
            store.set_override(override())
        with pytest.raises(StoreError, match=REFUSED):
            hand_change(store)
        with pytest.raises(StoreError, match=REFUSED):
            leases.try_acquire("host-a:1", timedelta(seconds=15))
        with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM tokens")  # rotated tokens are secrets
    finally:
        leases.close()
        store.close()


def test_an_operator_writes_overrides_and_hand_changes_but_not_as_the_scheduler(
    role: Callable[[str], str],
) -> None:
    url = role("operator")
    store = PostgresStore(url)
    leases = LeaseStore(url, "default")
    try:
        store.set_override(override())
        hand_change(store)
        (row,) = store.audit()
        assert row.changed_by.startswith("cli:alice@")  # person and host
        with pytest.raises(Fenced):  # no lease, no scheduler intent
            scheduler_intent(store)
        with (
            psycopg.connect(url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        ):  # … and the database refuses such a row from an operator even written by hand
            conn.execute(
                "INSERT INTO audit (event_type, account, flow_id, changed_by, timestamp)"
                " VALUES ('intent', 'support', 'wf_1', 'scheduler:forged', now())"
            )
        with pytest.raises(StoreError, match=REFUSED):
            leases.try_acquire("host-a:1", timedelta(seconds=15))
        with pytest.raises(StoreError, match=REFUSED):
            store.prune_audit(NOW + timedelta(days=1))
    finally:
        leases.close()
        store.close()


def test_only_a_scheduler_takes_the_lease_and_writes_scheduler_intents(
    role: Callable[[str], str],
) -> None:
    url = role("scheduler")
    store = PostgresStore(url)
    leases = LeaseStore(url, "default")
    try:
        assert leases.try_acquire("host-a:1", timedelta(seconds=15)) == 1
        store.fence = Fence("default", 1)
        scheduler_intent(store)
        store.record_event(AuditRecord("drift", FLOW, "scheduler:nightly", NOW))
        with pytest.raises(StoreError, match=REFUSED):
            store.set_override(override())
    finally:
        leases.close()
        store.close()


def test_grant_needs_exactly_one_kind_and_an_existing_role(
    team: tuple[Path, dict[str, str]],
) -> None:
    config, env = team
    both = CliRunner().invoke(
        main, ["--config", str(config), "db", "grant", "--reader", "a", "--operator", "b"], env=env
    )
    assert both.exit_code == 2
    missing = CliRunner().invoke(
        main, ["--config", str(config), "db", "grant", "--reader", "nobody_here_xyz"], env=env
    )
    assert missing.exit_code == 2
    assert "no role 'nobody_here_xyz'" in missing.stderr
