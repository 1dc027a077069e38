"""`flowtui daemon` as a real process: a window opening 2 s after launch, the lock, SIGHUP
with a broken file, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for
from state_dir import audit_of

from flowtui.store import AuditRecord

from .conftest import Flows, secrets_env

DEADLINE = 15.0


def flowtui(config: Path, state_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flowtui",
        "--config",
        str(config),
        "--state-dir",
        str(state_dir),
        *args,
    ]


@pytest.fixture
def environ(emu: Any) -> dict[str, str]:
    return {**os.environ, **secrets_env(emu)}


@pytest.fixture
def daemon(
    config_path: Path, state_dir: Path, environ: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / "daemon.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                flowtui(config_path, state_dir, "daemon"), env=environ, stderr=stderr
            )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_daemon_acts_when_a_window_opens_holds_the_lock_and_survives_a_bad_reload(
    flows: Flows,
    write_config: Any,
    daemon: Callable[[], tuple[subprocess.Popen[bytes], Path]],
    config_path: Path,
    state_dir: Path,
    environ: dict[str, str],
) -> None:
    targets = flows.pick("diga", 2, status="ENABLED", published=True)
    opens = datetime.now(UTC) + timedelta(seconds=2)
    write_config(
        f"""
[[maintenance]]
name = "soon"
flows = {[f"support:{i}" for i in targets]}
start = {opens.isoformat()}
end = {(opens + timedelta(hours=1)).isoformat()}
""",
        resync="1h",
    )
    process, log = daemon()
    wait_for(lambda: (state_dir / "scheduler.pid").exists(), "the daemon to take the lock")
    before_window = [flows.diga_on(i) for i in targets]
    if datetime.now(UTC) < opens:  # (a slow start may begin inside the window: then no claim)
        assert all(before_window)  # nothing is changed before the window opens

    def outcomes() -> list[AuditRecord]:
        found = [r for r in audit_of(state_dir) if r.event_type == "outcome"]
        return found if len(found) == len(targets) else []

    done = wait_for(outcomes, "the window's changes in the audit log")
    assert min(r.timestamp for r in done) >= opens
    assert {r.flow.flow_id for r in done} == set(targets)
    assert {r.result for r in done} == {"changed"}
    intents = [r for r in audit_of(state_dir) if r.event_type == "intent"]
    assert {r.id for r in intents} == {r.intent_id for r in done}
    assert not any(flows.diga_on(i) for i in targets)

    second = subprocess.run(
        flowtui(config_path, state_dir, "daemon", "--once"),
        env=environ,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert second.returncode == 3
    assert second.stderr.splitlines() == [
        f"flowtui: error: the scheduler for {state_dir} is already run by process {process.pid}"
    ]
    assert "Traceback" not in second.stderr

    config_path.write_text(config_path.read_text() + "\n[[maintenance]]\nname = \n")
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the old rules" in log.read_text(), "the reload to be refused")
    assert process.poll() is None

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=DEADLINE) == 0
    assert "Traceback" not in log.read_text()
    assert not (state_dir / "scheduler.pid").exists()
