"""Two `flowtui daemon` replicas on one database (SPEC §8): one leads, the other stands by;
kill -9 or SIGSTOP of the leader and the standby takes over once the lease expires; a
leader resumed after the stall steps down and stays a standby."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_for

from flowtui.store.admin import upgrade_database
from flowtui.store.leases import Lease, LeaseStore

LEASE_SECONDS = 2


@pytest.fixture
def replicas(tmp_path: Path, pg_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    upgrade_database(pg_url)
    config = tmp_path / "schedules.toml"
    config.write_text(
        f'[settings]\nstate_url_env = "FLOWTUI_TEST_STATE_URL"\nlease = "{LEASE_SECONDS}s"\n'
        'resync = "1h"\n\n[accounts.support]\nkind = "diga"\n'
        'base_url = "http://127.0.0.1:9/diga"\ntoken_env = "FLOWTUI_TEST_T"\n'
    )
    env = {**os.environ, "FLOWTUI_TEST_STATE_URL": pg_url}
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowtui",
                "--config",
                str(config),
                "--state-dir",
                str(tmp_path / f"state{n}"),
                "daemon",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"replica{n}.log").open("w"),
            text=True,
        )
        for n in (1, 2)
    ]
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.slow
def test_kill_9_of_the_leader_hands_over_within_one_lease_and_a_round(
    replicas: list[subprocess.Popen[str]], pg_url: str
) -> None:
    leases = LeaseStore(pg_url, "default")
    try:

        def leader() -> Lease | None:
            lease = leases.current()
            return lease if lease is not None and not lease.expired else None

        first = wait_for(leader, "a replica to lead")
        pid = int(first.holder.rpartition(":")[2])
        (dead,) = [p for p in replicas if p.pid == pid]
        (standby,) = [p for p in replicas if p.pid != pid]
        dead.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        second = wait_for(
            lambda: (lease := leader()) is not None and lease.epoch > first.epoch and lease,
            "the standby to take over",
        )
        took = time.monotonic() - killed
        assert second.holder.endswith(f":{standby.pid}")
        # the lease expires, then the standby's next round (a third of the lease) takes it
        assert took < LEASE_SECONDS * (1 + 1 / 3) + 2
        # a clean stop hands over at once (the lease is released)
        standby.terminate()
        assert standby.wait(timeout=30) == 0
        assert leases.current().expired  # type: ignore[union-attr]
    finally:
        leases.close()


@pytest.mark.slow
def test_a_leader_stopped_longer_than_its_lease_is_deposed_and_steps_down(
    replicas: list[subprocess.Popen[str]], pg_url: str, tmp_path: Path
) -> None:
    leases = LeaseStore(pg_url, "default")
    try:

        def leader() -> Lease | None:
            lease = leases.current()
            return lease if lease is not None and not lease.expired else None

        first = wait_for(leader, "a replica to lead")
        (frozen,) = [p for p in replicas if first.holder.endswith(f":{p.pid}")]
        (n,) = [i + 1 for i, p in enumerate(replicas) if p is frozen]
        frozen.send_signal(signal.SIGSTOP)
        second = wait_for(
            lambda: (lease := leader()) is not None and lease.epoch > first.epoch and lease,
            "the standby to take over from the stopped leader",
        )
        frozen.send_signal(signal.SIGCONT)
        log = tmp_path / f"replica{n}.log"
        wait_for(lambda: "standby (leader" in log.read_text(), "the resumed leader to step down")
        current = leases.current()
        assert current is not None
        assert (current.holder, current.epoch) == (second.holder, second.epoch)
        assert frozen.poll() is None  # still running, as a standby
    finally:
        leases.close()
