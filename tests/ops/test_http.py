"""/healthz, /readyz and /metrics served from their own thread, and `daemon --http`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from polling import wait_for
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from flowtui.engine.events import EngineFailed, PassCompleted, SchedulerState, SchedulerStatus
from flowtui.ops.health import STALE_LOOP_S, HealthTracker
from flowtui.ops.http_server import OpsServer, parse_address

from .conftest import secrets_env

T0 = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_addresses_parse(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["9464", "127.0.0.1", "host:99999", "[::1:80", "a:b:80"])
def test_bad_addresses_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(text)


@pytest.fixture
def served() -> Iterator[tuple[str, HealthTracker]]:
    tracker = HealthTracker()
    server = OpsServer(("127.0.0.1", 0), CollectorRegistry(), tracker)
    server.start()
    try:
        yield server.url, tracker
    finally:
        server.stop()


def test_readyz_follows_the_scheduler_and_the_store(served: tuple[str, HealthTracker]) -> None:
    url, tracker = served
    starting = httpx.get(f"{url}/readyz")
    assert (starting.status_code, starting.json()["summary"]) == (
        503,
        "not ready: scheduler starting",
    )

    tracker.observe(SchedulerState(SchedulerStatus.RUNNING, T0, T0 + timedelta(hours=1)))
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200
    assert ready.json() | {"next_transition": None} == {
        "ready": True,
        "summary": "ready",
        "scheduler": "running",
        "holder_pid": None,
        "config": "loaded",
        "store": "ok",
        "leadership": None,
        "reload_refused": None,
        "accounts_in_error": [],
        "last_pass": None,
        "next_transition": None,
    }
    tracker.observe(EngineFailed("resync pass failed: database is locked", T0))
    failing = httpx.get(f"{url}/readyz")
    assert failing.status_code == 503
    assert failing.json()["summary"] == "not ready: resync pass failed: database is locked"
    tracker.observe(PassCompleted("resync", T0, 0, 0, 0))
    assert httpx.get(f"{url}/readyz").status_code == 200

    tracker.observe(SchedulerState(SchedulerStatus.HELD, T0, None, 4242))
    standby = httpx.get(f"{url}/readyz")  # a standby is ready to take over
    assert (standby.status_code, standby.json()["holder_pid"]) == (200, 4242)
    tracker.observe(SchedulerState(SchedulerStatus.STOPPED, T0))
    assert httpx.get(f"{url}/readyz").status_code == 503


def test_healthz_fails_when_the_loop_stops_beating(served: tuple[str, HealthTracker]) -> None:
    url, tracker = served
    assert httpx.get(f"{url}/healthz").text == "ok\n"
    tracker.last_beat -= STALE_LOOP_S + 1
    stalled = httpx.get(f"{url}/healthz")
    assert stalled.status_code == 503
    assert stalled.text.startswith("event loop stalled for ")
    assert httpx.get(f"{url}/favicon.ico").status_code == 404


@pytest.mark.slow
def test_daemon_serves_metrics_health_and_readiness(
    emu: Any, write_config: Any, config_path: Path, state_dir: Path, tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    target = emu.state("diga")["flows"][0]["id"]
    write_config(
        f'[[maintenance]]\nname = "later"\nflows = ["support:{target}"]\n'
        f"start = {start.isoformat()}\nend = {(start + timedelta(hours=1)).isoformat()}\n",
        resync="1h",
    )
    log = tmp_path / "daemon.log"
    command = [sys.executable, "-m", "flowtui", "--config", str(config_path)]
    command += ["--state-dir", str(state_dir), "daemon", "--http", "127.0.0.1:0"]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env={**os.environ, **secrets_env(emu)}, stderr=stderr)
    try:
        line = wait_for(
            lambda: next((x for x in log.read_text().splitlines() if "serving" in x), None),
            "the daemon to say where it serves",
        )
        url = line.rsplit(" ", 1)[-1]
        ready = wait_for(
            lambda: (
                (r := httpx.get(f"{url}/readyz")).status_code == 200 and r.json()["last_pass"] and r
            ),
            "readiness after the start pass",
        )
        assert ready.json()["scheduler"] == "running"
        assert ready.json()["next_transition"] == start.isoformat()
        families = {
            family.name: family
            for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        }
        assert families["flowtui_leader"].samples[0].value == 1
        assert families["flowtui_last_pass_timestamp_seconds"].samples[0].value > 0
        assert "process_resident_memory_bytes" in families
        assert httpx.get(f"{url}/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_a_port_in_use_is_one_line_and_exit_2(
    emu: Any, write_config: Any, config_path: Path, state_dir: Path, served: Any
) -> None:
    write_config("")
    taken = served[0].rsplit(":", 1)[-1]
    command = [sys.executable, "-m", "flowtui", "--config", str(config_path)]
    command += ["--state-dir", str(state_dir), "daemon", "--http", f"127.0.0.1:{taken}"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=30, env={**os.environ, **secrets_env(emu)}
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"flowtui: error: --http 127.0.0.1:{taken}: cannot listen there (Address already in use)"
    ]
