"""Run `flowtui` in-process against the emulator with a schedules.toml written per test."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowtui.cli import flows, main
from flowtui.providers.registry import Environment
from flowtui.providers.transport import RetryPolicy

FAST_RETRY = RetryPolicy(scale=0.001)

CliRun = Callable[..., Result]


def config_text(emu: Any, *, extra: str = "") -> str:
    """One account per platform on the emulator, and the alias `checkout`."""
    ids = [int(flow["id"]) for flow in emu.state("bitrix24")["flows"]]
    return f"""
[settings]
confirm = true

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "FT_DIGA_KEY"
timeout = "1s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "FT_GASS_TOKEN"
refresh_token_env = "FT_GASS_REFRESH"
timeout = "1s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "FT_RUNFLOW_KEY"
timeout = "1s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "FT_B24_WEBHOOK"
flow_ids = {ids}
timeout = "1s"

[flows]
checkout = "support:{{checkout}}"
{extra}"""


@pytest.fixture
def config_for(emu: Any) -> Callable[..., str]:
    """`config_for(extra="")` → schedules.toml text for the emulator."""
    return lambda **kwargs: config_text(emu, **kwargs)


@pytest.fixture
def cli(emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRun:
    """`cli(*args, config=None, env=None)` → click Result; exit code, stdout and stderr.
    Backoff waits are scaled down 1000× so that retries do not slow the suite."""
    monkeypatch.setattr(flows, "Environment", partial(Environment, retry=FAST_RETRY))

    def run(
        *args: str,
        config: str | None = None,
        env: dict[str, str] | None = None,
        checkout: str = "none",
    ) -> Result:
        path = tmp_path / "schedules.toml"
        path.write_text((config or config_text(emu)).replace("{checkout}", checkout))
        secrets = {
            "FT_DIGA_KEY": emu.token,
            "FT_GASS_TOKEN": emu.token,
            "FT_GASS_REFRESH": emu.gassapi_refresh_token,
            "FT_RUNFLOW_KEY": emu.token,
            "FT_B24_WEBHOOK": emu.bitrix24_webhook_url,
        }
        return CliRunner().invoke(
            main,
            ["--config", str(path), "--state-dir", str(tmp_path / "state"), *args],
            env={**secrets, **(env or {})},
        )

    return run
