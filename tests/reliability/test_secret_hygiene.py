"""No token, refresh token or webhook code reaches stdout, stderr, logs (human and JSON),
`--json` output, the audit log, the state store or error texts — run end to end through the
real command line against the emulator with faults, rotating tokens and a platform that
quotes the token back in its errors; none in the committed screenshots either.

Provider-level logs, exceptions and reprs: tests/providers/test_secrets.py. A secret
written inline in the config: tests/config/test_config_parsing.py (refused, not echoed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flowtui.providers.redaction import redact

from .fake_platform import ECHO, Misbehaving, serve
from .soak import secrets_env

ROOT = Path(__file__).parents[2]
FAKE_TOKEN = "fake-platform-secret-1234"


@pytest.fixture
def echoing() -> Iterator[str]:
    fake = Misbehaving(mode=ECHO)
    with serve(fake) as url:
        yield url


def config_text(emu: Any, echo_url: str) -> str:
    raw = emu.state()
    members = {p["id"] for p in raw["gassapi"]["projects"] if p["member"]}
    gass = [f"ops:{f['id']}" for f in raw["gassapi"]["flows"] if f["project_id"] in members]
    crm = [int(f["id"]) for f in raw["bitrix24"]["flows"]][:3]
    now = datetime.now(UTC)
    return f"""
[settings]
timezone = "UTC"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "SOAK_DIGA"
timeout = "2s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "SOAK_GASS"
refresh_token_env = "SOAK_GASS_REFRESH"
timeout = "2s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "SOAK_RUNFLOW"
timeout = "2s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "SOAK_B24"
flow_ids = {crm}
timeout = "2s"

[accounts.echo]
kind = "diga"
base_url = "{echo_url}"
token_env = "ECHO_TOKEN"
timeout = "2s"

[[maintenance]]
name = "now"
flows = ["support:*", {json.dumps(gass[0])}, "studio:*", "crm:*", "echo:wf_a"]
start = {(now - timedelta(minutes=5)).isoformat()}
end = {(now + timedelta(hours=1)).isoformat()}
"""


def known_secrets(emu: Any, state_dir: Path) -> set[str]:
    webhook_code = urlsplit(emu.bitrix24_webhook_url).path.strip("/").split("/")[-1]
    found = {emu.token, emu.gassapi_refresh_token, webhook_code, FAKE_TOKEN}
    for saved in (state_dir / "tokens").glob("*.json"):
        pair = json.loads(saved.read_text())
        found |= {pair["access_token"], pair["refresh_token"]}
    return found


@pytest.mark.slow
def test_no_secret_anywhere_the_command_line_writes(emu: Any, tmp_path: Path, echoing: str) -> None:
    config, state_dir = tmp_path / "schedules.toml", tmp_path / "state"
    config.write_text(config_text(emu, echoing))
    env = {**os.environ, **secrets_env(emu), "ECHO_TOKEN": FAKE_TOKEN}
    emu.expire_tokens("gassapi")  # the first call refreshes: a rotated pair is stored
    for platform in ("diga", "gassapi", "runflow", "bitrix24"):
        emu.set_fault(platform, error_rate=0.3)
    some = [f"support:{emu.state('diga')['flows'][0]['id']}", "echo:wf_a", "echo:wf_b"]
    base = [sys.executable, "-m", "flowtui", "--config", str(config), "--state-dir", str(state_dir)]
    texts: list[str] = []
    for command in (
        ["daemon", "--once"],
        ["daemon", "--once", "--log-format", "json"],
        ["ls"],
        ["ls", "--json"],
        ["disable", *some, "--yes"],
        ["enable", *some, "--yes", "--dry-run"],
        ["audit"],
        ["audit", "--json"],
        ["plan", "--json"],
        ["check"],
    ):
        done = subprocess.run([*base, *command], env=env, capture_output=True, timeout=60)
        texts += [done.stdout.decode(), done.stderr.decode()]
        assert "Traceback" not in texts[-1], command
    assert any("token rejected" in text for text in texts)  # the echo did reach the output
    stored = [p for p in state_dir.rglob("*") if p.is_file() and p.parent.name != "tokens"]
    texts += [p.read_bytes().decode("latin-1") for p in stored]  # the store, raw, WAL too
    tokens = list((state_dir / "tokens").glob("*.json"))
    assert tokens  # GASSAPI rotated its pair
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in tokens)
    secrets = known_secrets(emu, state_dir)
    assert len(secrets) >= 5  # (the emulator's webhook code is its token)
    leaks = sorted({s[:4] for s in secrets for text in texts if s in text})
    assert leaks == []


def test_screenshots_hold_no_credential() -> None:
    shots = sorted((ROOT / "screenshots").glob("*.svg"))
    assert shots
    for shot in shots:
        text = shot.read_text()
        assert redact(text) == text, shot.name  # nothing bearer-, webhook- or token=-shaped
