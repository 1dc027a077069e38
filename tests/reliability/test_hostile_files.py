"""A hostile schedules.toml — nested 1,000 arrays or 5,000 inline tables deep, or a table
header 20,000 parts long — is one located line and exit 2 from `check`, quickly and in
little memory, and one "config not reloaded" line from a daemon that gets it by SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from polling import wait_for

from flowtui.cli import main

HEAD = """[settings]
timezone = "UTC"

[accounts.s]
kind = "diga"
base_url = "http://127.0.0.1:9"
token_env = "S_TOKEN"
"""
HOSTILE = {
    "1,000 nested arrays": "x = " + "[" * 1000 + "]" * 1000 + "\n",
    "5,000 nested inline tables": "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
    "a header 20,000 parts deep": "[" + ".".join(["a"] * 20_000) + "]\nb = 1\n",
}
WHERE = {  # line:column of the first part past the bound
    "1,000 nested arrays": "9:105",
    "5,000 nested inline tables": "9:505",
    "a header 20,000 parts deep": "9:66",
}
SECONDS = 3.0  # `check` needs a few hundredths; before, the deep header took 10 s and 1.6 GB
PEAK_MB = 30


@pytest.mark.parametrize("name", HOSTILE)
def test_check_gives_one_located_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(HEAD + "\n" + HOSTILE[name])
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = CliRunner().invoke(main, ["--config", str(path), "check"], env={"S_TOKEN": "x"})
        seconds = time.perf_counter() - started
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:{WHERE[name]}: error: ")
    assert "nested more than 100 deep" in lines[0] or "more than 32 parts" in lines[0]
    assert seconds < SECONDS
    assert peak_mb < PEAK_MB


@pytest.mark.slow
def test_sighup_with_a_hostile_file_keeps_the_old_rules(tmp_path: Path) -> None:
    config, state_dir, log = tmp_path / "schedules.toml", tmp_path / "state", tmp_path / "log"
    config.write_text(HEAD)
    command = [sys.executable, "-m", "flowtui", "--config", str(config), "--state-dir"]
    with log.open("wb") as stderr:
        daemon = subprocess.Popen(
            [*command, str(state_dir), "daemon"], env={**os.environ, "S_TOKEN": "x"}, stderr=stderr
        )
    try:
        wait_for(lambda: (state_dir / "scheduler.pid").exists(), "the daemon to take the lock")
        for number, name in enumerate(HOSTILE, start=1):
            config.write_text(HEAD + "\n" + HOSTILE[name])
            daemon.send_signal(signal.SIGHUP)
            wait_for(
                lambda n=number: log.read_text().count("config not reloaded") == n,
                f"the reload of {name} to be refused",
            )
        assert daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    said = log.read_text()
    assert "Traceback" not in said
    assert "Task exception" not in said
    refused = [line for line in said.splitlines() if "config not reloaded" in line]
    assert len(refused) == len(HOSTILE)
    assert all(f"{config}:9:" in line for line in refused)
