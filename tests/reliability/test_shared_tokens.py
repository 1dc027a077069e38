"""Rotated tokens shared between processes (SPEC §3): a daemon and CLI commands on one state
directory, against GASSAPI and Bitrix24 OAuth accounts whose access tokens live two
seconds, never spend a single-use refresh token twice — zero auth failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for
from state_dir import audit_of

TTL_S = 2  # lifetime of every access token the emulator issues during the test
ROUNDS = 3  # rounds of CLI commands, two at once, each after the daemon renewed again
DEADLINE = 30.0


def secrets(emu: Any) -> dict[str, str]:
    return {
        "FT_GASS": emu.token,
        "FT_GASS_REFRESH": emu.gassapi_refresh_token,
        "FT_B24": emu.token,
        "FT_B24_REFRESH": emu.bitrix24_refresh_token,
        "FT_B24_ID": emu.bitrix24_client_id,
        "FT_B24_SECRET": emu.bitrix24_client_secret,
    }


def config_text(emu: Any, project: str, governed: list[str], bitrix_ids: list[int]) -> str:
    """ops (GASSAPI) and crm (Bitrix24 OAuth); a window open for an hour holds `governed`
    disabled, so the daemon reads them at every one-second resync."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return f"""
[settings]
timezone = "UTC"
resync = "1s"
confirm = false

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
project_id = "{project}"
token_env = "FT_GASS"
refresh_token_env = "FT_GASS_REFRESH"
timeout = "5s"

[accounts.crm]
kind = "bitrix24"
base_url = "{emu.bitrix24_url}"
oauth_url = "{emu.bitrix24_oauth_url}"
token_env = "FT_B24"
refresh_token_env = "FT_B24_REFRESH"
client_id_env = "FT_B24_ID"
client_secret_env = "FT_B24_SECRET"
flow_ids = {bitrix_ids}
timeout = "5s"

[[maintenance]]
name = "held"
flows = {governed}
start = {start.isoformat()}
end = {(start + timedelta(hours=1)).isoformat()}
"""


def refreshes(emu: Any) -> list[dict[str, Any]]:
    """Every token renewal the platforms received."""
    return [
        r
        for r in emu.requests()
        if "act=refresh" in r["query"] or r["path"].endswith("/oauth/token/")
    ]


@pytest.mark.slow
def test_a_daemon_and_cli_commands_never_spend_a_refresh_token_twice(
    emu: Any, tmp_path: Path
) -> None:
    state = emu.state("gassapi")
    project = next(p["id"] for p in state["projects"] if p["member"])
    ops_ids = [f["id"] for f in state["flows"] if f["project_id"] == project][:3]
    crm_ids = [int(f["id"]) for f in emu.state("bitrix24")["flows"]][:3]
    config = tmp_path / "schedules.toml"
    config.write_text(
        config_text(emu, project, [f"ops:{ops_ids[0]}", f"crm:{crm_ids[0]}"], crm_ids)
    )
    state_dir = tmp_path / "state"
    environ = {**os.environ, **secrets(emu)}
    base = [sys.executable, "-m", "flowtui", "--config", str(config), "--state-dir", str(state_dir)]
    for platform in ("gassapi", "bitrix24"):
        emu.set_fault(platform, token_ttl_s=TTL_S)
        emu.expire_tokens(platform)  # the seeds too: the first call of anyone must renew
    emu.clear_requests()

    log = tmp_path / "daemon.log"
    with log.open("wb") as stderr:
        daemon = subprocess.Popen([*base, "daemon"], env=environ, stderr=stderr)
    commands = [
        ["ls", "--json"],
        ["toggle", f"ops:{ops_ids[1]}", f"crm:{crm_ids[1]}", "--yes", "--json"],
    ]
    results: list[subprocess.CompletedProcess[str]] = []
    try:
        wait_for(lambda: (state_dir / "scheduler.pid").exists(), "the daemon to take the lock")
        for _ in range(ROUNDS):
            seen = len(refreshes(emu))
            wait_for(
                lambda seen=seen: len(refreshes(emu)) > seen, "another renewal", timeout=DEADLINE
            )
            running = [
                subprocess.Popen(
                    [*base, *args], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for args in commands
            ]
            for process in running:
                out, err = process.communicate(timeout=DEADLINE)
                results.append(
                    subprocess.CompletedProcess(
                        process.args, process.returncode, out.decode(), err.decode()
                    )
                )
        assert daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=DEADLINE) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()

    renewals = refreshes(emu)
    failed_renewals = [r for r in renewals if r["status"] != 200]
    failed_commands = [r for r in results if r.returncode != 0 or r.stderr.strip()]
    rejected = [r for r in emu.requests() if r["status"] == 401 and r not in renewals]
    failed_outcomes = [
        r for r in audit_of(state_dir) if r.event_type == "outcome" and r.result == "failed"
    ]
    daemon_log = log.read_text()
    failed_daemon = [
        line
        for line in daemon_log.splitlines()
        if "token refresh failed" in line or "token renewal failed" in line
    ]
    print(
        f"\nshared tokens: 1 daemon + {len(results)} CLI processes, {len(renewals)} renewals, "
        f"{len(rejected)} expired-token answers, {len(failed_renewals)} failed renewals, "
        f"{len(failed_commands)} failed commands, {len(failed_outcomes)} failed changes, "
        f"{len(failed_daemon)} daemon auth errors"
    )
    assert failed_renewals == []
    assert failed_commands == []
    assert failed_outcomes == []
    assert failed_daemon == []
    assert "Traceback" not in daemon_log
    assert len(renewals) > ROUNDS  # the tokens really did rotate, many times
    assert len(rejected) > 0
