"""Rotated tokens in team mode (SPEC §8) live in the shared database, whoever rotates them:
a CLI command renews an expired GASSAPI token once, and the next command, the daemon and the
app all take the stored pair instead of spending the single-use refresh token again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from tui.helpers import loaded

from flowtui.cli import main
from flowtui.engine.daemon import Scheduler
from flowtui.providers.registry import Environment
from flowtui.store.admin import upgrade_database
from flowtui.store.postgres import connect
from flowtui.store.tokens import SharedTokenStore
from flowtui.tui.launch import build_app

URL_ENV = "FLOWTUI_TEST_STATE_URL"


def config_text(emu: Any, project: str) -> str:
    return f"""
[settings]
state_url_env = "{URL_ENV}"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
project_id = "{project}"
token_env = "FT_GASS"
refresh_token_env = "FT_GASS_REFRESH"
timeout = "5s"
"""


def renewals(emu: Any) -> int:
    return sum("act=refresh" in r["query"] for r in emu.requests("gassapi"))


def stored_generation(url: str) -> int:
    with connect(url) as conn:
        row = conn.execute("SELECT generation FROM tokens WHERE account = 'ops'").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def team(emu: Any, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    upgrade_database(pg_url)
    project = next(p["id"] for p in emu.state("gassapi")["projects"] if p["member"])
    config = tmp_path / "schedules.toml"
    config.write_text(config_text(emu, project))
    for name, value in {
        URL_ENV: pg_url,
        "FT_GASS": emu.token,
        "FT_GASS_REFRESH": emu.gassapi_refresh_token,
    }.items():
        monkeypatch.setenv(name, value)
    return config


def cli(config: Path, tmp_path: Path, *args: str) -> Result:
    state_dir = str(tmp_path / "state")
    return CliRunner().invoke(main, ["--config", str(config), "--state-dir", state_dir, *args])


def test_the_environment_keeps_tokens_in_the_shared_database(pg_url: str) -> None:
    assert isinstance(Environment(state_url=pg_url).store("ops"), SharedTokenStore)


async def test_cli_daemon_and_app_share_one_rotation(
    emu: Any, team: Path, tmp_path: Path, pg_url: str
) -> None:
    emu.expire_tokens("gassapi")
    emu.clear_requests()
    first = await asyncio.to_thread(cli, team, tmp_path, "ls", "--json")
    assert first.exit_code == 0, first.output
    assert renewals(emu) == 1
    assert stored_generation(pg_url) == 1
    assert not (tmp_path / "state" / "tokens").exists()  # nothing on this machine

    again = await asyncio.to_thread(cli, team, tmp_path, "ls", "--json")  # the stored pair
    assert again.exit_code == 0, again.output
    scheduler = Scheduler(team, tmp_path / "state", dry_run=True)
    report = await scheduler.open()
    await scheduler.close()
    assert not report.failed

    app = build_app(team, tmp_path / "state")
    async with app.run_test(size=(160, 30)) as pilot:
        await loaded(pilot)
        assert "ops" not in app.account_errors
    assert renewals(emu) == 1  # nobody spent the refresh token again
    assert stored_generation(pg_url) == 1
