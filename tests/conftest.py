"""Shared fixtures. `emulator`: one emulator of the four platforms for the whole session.
`emu`: the same server, reset to the known seed before each test, with admin helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import RunningEmulator, run_in_thread

EMULATOR_FLOWS = 20
EMULATOR_SEED = 1
EMULATOR_TOKEN = "test-token"


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(flows=EMULATOR_FLOWS, seed=EMULATOR_SEED, token=EMULATOR_TOKEN)
    with run_in_thread(config) as running:
        yield running


class Emu(EmulatorAdmin):
    """The running emulator's URLs and credentials plus the admin helpers of EmulatorAdmin:
    `state()`, `set_fault(platform, **fields)`, `set_flow(platform, id, **fields)`,
    `requests()`, `reset(flows=, seed=)`, `expire_tokens(platform)`."""

    def __init__(self, running: RunningEmulator) -> None:
        super().__init__(running.base_url)
        self.running = running

    def __getattr__(self, name: str) -> Any:
        # base_url, diga_url, gassapi_url, runflow_url, bitrix24_url, bitrix24_webhook_url,
        # token, gassapi_refresh_token, bitrix24_client_id/secret/refresh_token, ...
        return getattr(self.running, name)


@pytest.fixture
def emu(emulator: RunningEmulator) -> Iterator[Emu]:
    helper = Emu(emulator)
    helper.reset(flows=EMULATOR_FLOWS, seed=EMULATOR_SEED)
    try:
        yield helper
    finally:
        helper.close()


from pg_cluster import own_pg, pg_server, pg_url  # noqa: E402, F401  (team-mode fixtures)
