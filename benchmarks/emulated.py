"""The emulator of the four platforms for the benchmarks, and accounts configured on it
exactly as a user's schedules.toml would configure them (so providers come from the
registry, as the app, CLI and daemon build them)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import tomli_w

from flowtui.config import Config, parse_config
from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import RunningEmulator, run_in_thread
from flowtui.providers.base import Provider
from flowtui.providers.registry import Environment, build_provider

SEED = 8
PLATFORMS = ("diga", "gassapi", "runflow", "bitrix24")
ACCOUNTS = {"diga": "support", "gassapi": "ops", "runflow": "studio", "bitrix24": "crm"}
SECRET_ENV = {
    "diga": "BENCH_DIGA_KEY",
    "gassapi": "BENCH_GASS_TOKEN",
    "gassapi_refresh": "BENCH_GASS_REFRESH",
    "runflow": "BENCH_RUNFLOW_KEY",
    "bitrix24": "BENCH_B24_WEBHOOK",
}


@dataclass
class Emulated:
    """A running emulator with its admin client; `reset(flows)` re-seeds every platform."""

    running: RunningEmulator
    admin: EmulatorAdmin

    def reset(self, flows: int) -> None:
        self.admin.reset(flows=flows, seed=SEED)

    def flows(self, platform: str) -> list[dict[str, Any]]:
        return self.admin.state(platform)["flows"]

    def ids(self, platform: str) -> list[str]:
        return [str(flow["id"]) for flow in self.flows(platform)]

    def requests(self, platform: str) -> list[dict[str, Any]]:
        return self.admin.requests(platform)

    @property
    def env(self) -> dict[str, str]:
        """The secrets the configured accounts name, as environment variables."""
        running = self.running
        return {
            SECRET_ENV["diga"]: running.token,
            SECRET_ENV["gassapi"]: running.token,
            SECRET_ENV["gassapi_refresh"]: running.gassapi_refresh_token,
            SECRET_ENV["runflow"]: running.token,
            SECRET_ENV["bitrix24"]: running.bitrix24_webhook_url,
        }

    def accounts(self, bitrix_ids: list[str], **bitrix: Any) -> dict[str, dict[str, Any]]:
        """schedules.toml `[accounts]` for the four platforms (every GASSAPI project)."""
        running = self.running
        return {
            "support": {
                "kind": "diga",
                "base_url": running.diga_url,
                "token_env": SECRET_ENV["diga"],
            },
            "ops": {
                "kind": "gassapi",
                "base_url": running.gassapi_url,
                "token_env": SECRET_ENV["gassapi"],
                "refresh_token_env": SECRET_ENV["gassapi_refresh"],
            },
            "studio": {
                "kind": "runflow",
                "base_url": running.runflow_url,
                "token_env": SECRET_ENV["runflow"],
                "organization_id": running.runflow_org_id,
            },
            "crm": {
                "kind": "bitrix24",
                "webhook_url_env": SECRET_ENV["bitrix24"],
                "flow_ids": [int(i) for i in bitrix_ids],
                **bitrix,
            },
        }

    def config(self, **bitrix: Any) -> Config:
        """A configuration of the four accounts (Bitrix24 naming every seeded flow)."""
        return config_from({"accounts": self.accounts(self.ids("bitrix24"), **bitrix)})

    def provider(self, platform: str, config: Config) -> Provider:
        """The account's provider, built by the registry as the app and daemon build it."""
        name = ACCOUNTS[platform]
        return build_provider(name, config.accounts[name], Environment(env=self.env))


def config_from(data: Mapping[str, Any]) -> Config:
    """A Config from schedules.toml data, through the same parser as a file on disk."""
    return parse_config(tomli_w.dumps(data), "bench-schedules.toml")


@contextmanager
def emulator(flows: int) -> Iterator[Emulated]:
    config = EmulatorConfig(flows=flows, seed=SEED, token=secrets.token_urlsafe(18))
    with run_in_thread(config) as running:
        admin = EmulatorAdmin(running.base_url, timeout=60)
        try:
            yield Emulated(running, admin)
        finally:
            admin.close()
