"""A standby replica says whom it follows (SPEC §8, §9): `/readyz` answers
`ready: standby (leader host:pid, heartbeat 2 s ago)`, the log has a line when the leader
it follows changes, and a lease it cannot reach makes it not ready."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from polling import wait_for

from flowtui.engine.events import SchedulerState, SchedulerStatus
from flowtui.engine.leadership import Leadership
from flowtui.ops.health import HealthTracker
from flowtui.ops.readiness import LeadershipWatch
from flowtui.store.admin import upgrade_database
from flowtui.store.leases import LeaseStore

LEASE = timedelta(seconds=30)
STANDBY = re.compile(r"^ready: standby \(leader srv1:4242, heartbeat \d+ s ago\)$")


@pytest.fixture
def url(pg_url: str) -> str:
    upgrade_database(pg_url)
    return pg_url


@pytest.fixture
def lease_stores(url: str) -> Iterator[list[LeaseStore]]:
    opened: list[LeaseStore] = []
    yield opened
    for store in opened:
        store.close()


def replica(url: str, holder: str, opened: list[LeaseStore]) -> Leadership:
    store = LeaseStore(url, "default")
    opened.append(store)
    return Leadership(store, lease=LEASE, holder=holder)


def running() -> HealthTracker:
    health = HealthTracker()
    health.observe(SchedulerState(SchedulerStatus.RUNNING, datetime.now(UTC)))
    return health


async def test_a_standby_names_its_leader_and_logs_a_new_one(
    url: str, lease_stores: list[LeaseStore], caplog: pytest.LogCaptureFixture
) -> None:
    first = replica(url, "srv1:4242", lease_stores)
    standby = replica(url, "srv2:77", lease_stores)
    assert first.step()
    assert not standby.step()
    health = running()
    watch = LeadershipWatch(health)
    await watch.look(standby)
    assert STANDBY.match(health.health.summary())
    assert health.health.as_json()["leadership"].startswith("standby (leader srv1:4242, ")

    leader_watch = LeadershipWatch(running())
    await leader_watch.look(first)
    assert leader_watch.health.health.summary() == f"ready: leader (epoch {first.epoch})"

    first.resign()
    third = replica(url, "srv3:5", lease_stores)
    assert third.step()
    with caplog.at_level(logging.WARNING, logger="flowtui"):
        await watch.look(standby)
    assert "scheduler default: standby (leader srv3:5, heartbeat 0 s ago)" in caplog.messages
    await watch.look(standby)  # the same leader, an older heartbeat: no new line
    assert len([m for m in caplog.messages if "standby (leader" in m]) == 1


async def test_a_lease_it_cannot_reach_makes_a_replica_not_ready() -> None:
    cut_off = replica("postgresql://flowtui:pw-123@127.0.0.1:9/flowtui", "srv2:77", [])
    assert not cut_off.step()
    health = running()
    await LeadershipWatch(health).look(cut_off)
    assert not health.health.ready
    summary = health.health.summary()
    assert summary.startswith("not ready: cannot connect to postgresql://flowtui:***@127.0.0.1:9/")
    assert "pw-123" not in summary
    cut_off.leases.close()


@pytest.mark.slow
def test_a_standby_daemon_says_so_on_readyz_and_in_its_log(url: str, tmp_path: Path) -> None:
    leases = LeaseStore(url, "default")
    assert leases.try_acquire("srv1:4242", timedelta(minutes=5)) is not None
    config = tmp_path / "schedules.toml"
    config.write_text(
        '[settings]\nstate_url_env = "FLOWTUI_TEST_STATE_URL"\nresync = "1h"\n\n'
        '[accounts.support]\nkind = "diga"\nbase_url = "http://127.0.0.1:9/diga"\n'
        'token_env = "FLOWTUI_TEST_T"\n\n'
        '[[maintenance]]\nname = "hourly"\nflows = ["support:*"]\ncron = "0 * * * *"\n'
        'duration = "10m"\n'
    )
    log = tmp_path / "daemon.log"
    command = [sys.executable, "-m", "flowtui", "--config", str(config)]
    command += ["--state-dir", str(tmp_path / "state"), "daemon", "--http", "127.0.0.1:0"]
    env = {**os.environ, "FLOWTUI_TEST_STATE_URL": url}
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)
    try:
        line = wait_for(
            lambda: next((x for x in log.read_text().splitlines() if "serving" in x), None),
            "the daemon to say where it serves",
        )
        where = line.rsplit(" ", 1)[-1]
        ready = wait_for(
            lambda: (r := httpx.get(f"{where}/readyz")).json()["leadership"] and r,
            "the standby's readiness",
        )
        assert ready.status_code == 200
        assert STANDBY.match(ready.json()["summary"])
        assert "standby (leader srv1:4242, heartbeat" in log.read_text()
        assert ready.json()["next_transition"] is not None  # warm: its next change is known
        metrics = httpx.get(f"{where}/metrics").text
        assert "\nflowtui_leader 0.0\n" in metrics  # a standby does not schedule
    finally:
        process.terminate()
        process.wait(timeout=30)
        leases.close()
