"""The app against the emulator: a schedules.toml per test, secrets in the environment and
retries scaled down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui.providers.registry import Environment
from flowtui.providers.transport import RetryPolicy
from flowtui.tui.app import FlowtuiApp
from flowtui.tui.launch import build_app
from tui.helpers import MakeApp, config_text

FAST_RETRY = RetryPolicy(scale=0.001)


@pytest.fixture
def make_app(emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeApp:
    """`make_app(confirm=False, settings="", extra="", read_only=False, clock=None,
    config=None, scheduler=False)`: the app on a schedules.toml for the emulator."""
    monkeypatch.setenv("FT_DIGA_KEY", emu.token)
    monkeypatch.setenv("FT_GASS_TOKEN", emu.token)
    monkeypatch.setenv("FT_GASS_REFRESH", emu.gassapi_refresh_token)
    monkeypatch.setenv("FT_RUNFLOW_KEY", emu.token)
    monkeypatch.setenv("FT_B24_WEBHOOK", emu.bitrix24_webhook_url)

    def make(
        *,
        confirm: bool = False,
        settings: str = "",
        extra: str = "",
        read_only: bool = False,
        clock: Callable[[], datetime] | None = None,
        config: str | None = None,
        scheduler: bool = False,
    ) -> FlowtuiApp:
        path = tmp_path / "schedules.toml"
        path.write_text(config or config_text(emu, confirm=confirm, settings=settings, extra=extra))
        state_dir = tmp_path / "state"
        return build_app(
            path,
            state_dir,
            read_only=read_only,
            clock=clock or (lambda: datetime.now(UTC)),
            env=Environment(state_dir=state_dir, retry=FAST_RETRY),
            scheduler=scheduler,
        )

    return make
