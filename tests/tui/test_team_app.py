"""The app in team mode (SPEC §8), against a real PostgreSQL server: it reads and writes the
shared database (audit rows name person and host), shows the leader and its heartbeat, sees
what others write at once (NOTIFY), schedules only with --scheduler, and says clearly when
the database cannot be used — and recovers when it can again."""

from __future__ import annotations

import getpass
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from textual.widgets import DataTable

from flowtui.model import FlowRef, State
from flowtui.store import StoreError
from flowtui.store.admin import grant, upgrade_database
from flowtui.store.leases import LeaseStore
from flowtui.store.postgres import PostgresStore
from flowtui.tui.screens.audit import AuditScreen
from tui.helpers import MakeApp, loaded, pick_diga, wait_for

URL_ENV = "FLOWTUI_TEST_STATE_URL"
TEAM = f'state_url_env = "{URL_ENV}"\nlease = "3s"'
HEARTBEAT = re.compile(r"heartbeat \d+ s ago")


@pytest.fixture
def team_url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    upgrade_database(pg_url)
    monkeypatch.setenv(URL_ENV, pg_url)
    return pg_url


@pytest.fixture
def shared(team_url: str) -> Iterator[PostgresStore]:
    """The same database as another process (the CLI, another app) sees it."""
    store = PostgresStore(team_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def leases(team_url: str) -> Iterator[LeaseStore]:
    store = LeaseStore(team_url, "default")
    try:
        yield store
    finally:
        store.close()


def team_text(app: Any) -> str:
    return str(app.status.status.team)


@pytest.mark.slow
async def test_hand_changes_and_overrides_go_to_the_shared_database_with_person_and_host(
    emu: Any, make_app: MakeApp, shared: PostgresStore, tmp_path: Any
) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    ref = FlowRef("support", flow_id)
    app = make_app(settings=TEAM)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        assert app.scheduler is None  # by default an app in team mode does not schedule
        app.table.focus()
        app.table.move_cursor(row=app.table.get_row_index(str(ref)))
        await pilot.press("d")
        await wait_for(pilot, lambda: app.rows[str(ref)].state is State.DISABLED, "the change")
        app.control.set_override([ref], "skip", datetime.now(UTC) + timedelta(hours=2))
    who = f"tui:{getpass.getuser()}@{socket.gethostname()}"
    outcome = shared.audit(flow=ref)[0]
    assert (outcome.event_type, outcome.new_status, outcome.changed_by) == (
        "outcome",
        "disabled",
        who,
    )
    (pin,) = shared.overrides(now=datetime.now(UTC))
    assert (pin.flow, pin.state, pin.created_by) == (ref, "skip", who)
    assert not (tmp_path / "state" / "flowtui.db").exists()  # nothing local in team mode


@pytest.mark.slow
async def test_with_scheduler_the_app_stands_by_then_takes_the_lease_over(
    make_app: MakeApp, leases: LeaseStore
) -> None:
    epoch = leases.try_acquire("srv1:4242", timedelta(minutes=1))
    assert epoch is not None
    app = make_app(settings=TEAM, scheduler=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        await wait_for(
            pilot, lambda: team_text(app).startswith("standby · leader srv1:4242"), "standby"
        )
        leases.release("srv1:4242", epoch)  # the daemon stopped cleanly
        own = f"{socket.gethostname()}:"
        await wait_for(
            pilot, lambda: team_text(app).startswith(f"leader: this app ({own}"), "takeover"
        )
        current = leases.current()
        assert current is not None
        assert current.epoch == epoch + 1


@pytest.mark.slow
async def test_the_leader_and_rows_written_elsewhere_show_at_once(
    emu: Any, make_app: MakeApp, shared: PostgresStore, leases: LeaseStore
) -> None:
    """The status bar names the leader and its heartbeat's age; another operator's change
    reaches the audit screen and the table without a poll."""
    flow_id = pick_diga(emu, status="ENABLED")
    ref = FlowRef("support", flow_id)
    app = make_app(settings=TEAM + '\nrefresh = "1h"')
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: team_text(app) == "no leader", "the link")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit screen")
        emu.set_flow("diga", flow_id, status="DISABLED")  # bob disables it from his laptop
        now = datetime.now(UTC)
        intent = shared.record_intent(
            ref,
            old_status="enabled",
            new_status="disabled",
            changed_by="tui:bob@other",
            reason="manual",
            at=now,
        )
        shared.record_outcome(intent, new_status="disabled", result="changed", at=now)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, "both rows on the audit screen")
        await wait_for(pilot, lambda: app.rows[str(ref)].state is State.DISABLED, "the row")

        assert leases.try_acquire("srv1:4242", timedelta(minutes=1)) is not None
        await wait_for(pilot, lambda: team_text(app).startswith("leader srv1:4242 · "), "it")
        assert HEARTBEAT.search(team_text(app))
        assert "leader srv1:4242 · heartbeat" in str(app.status.render())


def role_url(pg_url: str, role: str) -> str:
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(netloc=f"{role}:{role}-pw@{parts.netloc.rpartition('@')[2]}"))


def serve(pg_url: str, role: str, *, allowed: bool) -> None:
    """Let `role` log in again, or refuse it and end its sessions (an outage for it)."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {role} {'LOGIN' if allowed else 'NOLOGIN'}")
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )


@pytest.fixture
def refused_role(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A login role the database refuses for now (`serve` lets it in), as the app's URL."""
    upgrade_database(pg_url)
    role = f"alice_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} NOLOGIN PASSWORD '{role}-pw'")
    monkeypatch.setenv(URL_ENV, role_url(pg_url, role))
    try:
        yield role
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


@pytest.mark.slow
async def test_a_database_outage_shows_and_the_app_recovers(
    emu: Any, make_app: MakeApp, pg_url: str, refused_role: str
) -> None:
    """The database does not serve this app at start, then does, then stops (its sessions
    killed, new ones refused) and comes back: the status bar says so each time, a change
    is refused at once meanwhile, and then everything works again — the GASSAPI account,
    whose rotated token lives in the database, included."""
    role = refused_role
    grant(pg_url, "operator", role)
    ref = FlowRef("support", pick_diga(emu, status="ENABLED"))
    until = datetime.now(UTC) + timedelta(hours=1)
    app = make_app(settings=TEAM)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        assert team_text(app).startswith("database unusable, retrying: ")
        assert "ops" in app.account_errors  # its shared token cannot be read
        serve(pg_url, role, allowed=True)
        await wait_for(pilot, lambda: team_text(app) == "no leader", "the database")
        await wait_for(pilot, lambda: "ops" not in app.account_errors, "the ops account")

        serve(pg_url, role, allowed=False)
        await wait_for(pilot, lambda: app.status.status.team_level == "error", "outage")
        assert team_text(app).startswith("database unusable, retrying: ")
        assert f"{role}-pw" not in str(app.status.render())
        with pytest.raises(StoreError, match="state store unavailable"):
            app.control.set_override([ref], "skip", until)
        serve(pg_url, role, allowed=True)
        await wait_for(pilot, lambda: team_text(app) == "no leader", "the recovery")
        app.control.set_override([ref], "skip", until)
        notes = [n.message for n in app._notifications]
        assert "the shared database answers again" in notes


@pytest.mark.slow
async def test_a_candidate_app_waits_for_the_database_then_stands(
    make_app: MakeApp, pg_url: str, refused_role: str
) -> None:
    grant(pg_url, "scheduler", refused_role)
    app = make_app(settings=TEAM, scheduler=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)
        assert app.scheduler is not None
        link = app.scheduler
        await wait_for(pilot, lambda: link.label == "waiting for the database", "the wait")
        assert "cannot connect" in link.reason
        serve(pg_url, refused_role, allowed=True)
        await wait_for(pilot, lambda: team_text(app).startswith("leader: this app ("), "it")
        assert link.embedded


@pytest.mark.slow
async def test_a_database_that_stops_answering_shows_within_seconds(
    make_app: MakeApp, team_url: str
) -> None:
    """A frozen or cut-off database fails nothing, it just never answers: the app says so
    once a lease read has waited too long, and carries on when the answer comes."""
    app = make_app(settings=TEAM)
    async with app.run_test(size=(200, 40)) as pilot:
        assert app.team is not None
        app.team.stall_s = 1.5
        await wait_for(pilot, lambda: team_text(app) == "no leader", "the link")
        with psycopg.connect(team_url) as admin:  # the next lease read waits on this lock
            admin.execute("LOCK TABLE leases IN ACCESS EXCLUSIVE MODE")
            await wait_for(pilot, lambda: "has not answered for" in team_text(app), "the stall")
            assert app.status.status.team_level == "error"
            with pytest.raises(StoreError, match="has not answered"):
                app.control.audit()
            admin.rollback()
        await wait_for(pilot, lambda: team_text(app) == "no leader", "the answer")
        assert app.control.audit() == []


@pytest.mark.parametrize("case", ["wrong password", "newer schema"])
async def test_a_database_that_cannot_be_used_is_a_clear_status(
    make_app: MakeApp, pg_url: str, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    upgrade_database(pg_url)
    if case == "newer schema":
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("UPDATE flowtui_schema SET version = 99")
        monkeypatch.setenv(URL_ENV, pg_url)
        said = "newer than this flowtui knows"
    else:
        parts = urlsplit(pg_url)
        host = parts.netloc.rpartition("@")[2]
        monkeypatch.setenv(URL_ENV, urlunsplit(parts._replace(netloc=f"postgres:wrong-pw@{host}")))
        said = "password authentication failed"
    app = make_app(settings=TEAM)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot)  # the flows show all the same
        await wait_for(pilot, lambda: said in team_text(app), "the status")
        assert app.status.status.team_level == "error"
        assert "wrong-pw" not in team_text(app)
