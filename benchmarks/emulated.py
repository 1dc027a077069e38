"""The emulator of the four platforms for the benchmarks, and accounts configured on it
exactly as a user's schedules.toml would configure them (so providers come from the
registry, as the app, CLI and daemon build them).

Every documented limit is on (SPEC §7): each request waits the run's latency (50 ms at
full size); Bitrix24's leaky bucket drains 2 req/s with a burst of 50 (503
QUERY_LIMIT_EXCEEDED); Runflow limits each organisation (429 RATE_LIMITED without
Retry-After, as its current docs say; the docs give no figure, so the rate is ours).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from flowtui.config import Config, parse_config
from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import RunningEmulator, run_in_thread
from flowtui.providers.base import Provider
from flowtui.providers.registry import Environment, build_provider

SEED = 8
RUNFLOW_RATE_PER_S = 10.0
RUNFLOW_BURST = 20
BITRIX24_RATE_PER_S = 2.0
BITRIX24_BURST = 50
BITRIX24_BATCH = 50
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
    def latency_s(self) -> float:
        return self.running.config.latency_ms / 1000

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


def write_config(emulated: Emulated, path: Path, **data: Any) -> Path:
    """schedules.toml of the four accounts (Bitrix24 naming every seeded flow) plus `data`."""
    accounts = emulated.accounts(emulated.ids("bitrix24"))
    path.write_text(tomli_w.dumps({"accounts": accounts, **data}))
    return path


@contextmanager
def emulator(flows: int, latency_ms: float) -> Iterator[Emulated]:
    config = EmulatorConfig(
        flows=flows,
        seed=SEED,
        token=secrets.token_urlsafe(18),
        latency_ms=latency_ms,
        runflow_rate_per_s=RUNFLOW_RATE_PER_S,
        runflow_burst=RUNFLOW_BURST,
        runflow_retry_after_s=None,
        bitrix24_drain_per_s=BITRIX24_RATE_PER_S,
        bitrix24_threshold=BITRIX24_BURST,
    )
    with run_in_thread(config) as running:
        admin = EmulatorAdmin(running.base_url, timeout=60)
        try:
            yield Emulated(running, admin)
        finally:
            admin.close()
