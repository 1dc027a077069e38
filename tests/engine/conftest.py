"""The engine against the emulator with a hand-moved clock.

`engine_config(rules)` writes a schedules.toml whose accounts point at the emulator:
support (diga), ops (gassapi), studio (runflow), crm (bitrix24 webhook). `open_engine(at)`
opens a `Scheduler` on it at instant `at` (no timers: tests call `converge_now`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import EventBus
from flowtui.engine.reconcile import Report
from flowtui.providers.transport import RetryPolicy
from flowtui.store import SqliteStore

T0 = datetime(2031, 11, 24, 10, 0, tzinfo=UTC)  # a Monday
FAST = RetryPolicy(scale=0.001)


def secrets_env(emu: Any) -> dict[str, str]:
    return {
        "FT_DIGA": emu.token,
        "FT_GASS": emu.token,
        "FT_GASS_REFRESH": emu.gassapi_refresh_token,
        "FT_RUNFLOW": emu.token,
        "FT_B24": emu.bitrix24_webhook_url,
    }


def accounts_toml(emu: Any, resync: str = "1d") -> str:
    bitrix_ids = [int(flow["id"]) for flow in emu.state("bitrix24")["flows"]]
    return f"""
[settings]
timezone = "UTC"
resync = "{resync}"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "FT_DIGA"
timeout = "1s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "FT_GASS"
refresh_token_env = "FT_GASS_REFRESH"
timeout = "1s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "FT_RUNFLOW"
timeout = "1s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "FT_B24"
flow_ids = {bitrix_ids}
timeout = "1s"
"""


class Flows:
    """Raw emulator state by platform and id, and picks of flows by their fields."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu

    def raw(self, platform: str) -> dict[str, dict[str, Any]]:
        return {str(flow["id"]): flow for flow in self.emu.state(platform)["flows"]}

    def pick(self, platform: str, count: int = 1, **wanted: Any) -> list[str]:
        found = [
            flow_id
            for flow_id, flow in self.raw(platform).items()
            if all(flow.get(key) == value for key, value in wanted.items())
        ]
        assert len(found) >= count, f"emulator has too few {platform} flows with {wanted}"
        return found[:count]

    def gassapi_member(self, **wanted: Any) -> str:
        """A GASSAPI flow in a project the emulator's user is a member of."""
        members = {p["id"] for p in self.emu.state("gassapi")["projects"] if p["member"]}
        return next(
            flow_id
            for flow_id in self.pick("gassapi", 1, **wanted) + list(self.raw("gassapi"))
            if self.raw("gassapi")[flow_id]["project_id"] in members
            and all(self.raw("gassapi")[flow_id].get(k) == v for k, v in wanted.items())
        )

    def diga_on(self, flow_id: str) -> bool:
        return self.raw("diga")[flow_id]["status"] == "ENABLED"

    def changes(self) -> list[dict[str, Any]]:
        """Requests that asked a platform to change something (admin calls excluded)."""
        return [
            r
            for r in self.emu.requests()
            if r["method"] in ("PATCH", "PUT", "POST")
            and "refresh" not in str(r.get("query"))
            and not r["path"].endswith(("batch", "tasks.flow.Flow.get"))
        ]


@pytest.fixture
def flows(emu: Any) -> Flows:
    return Flows(emu)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "schedules.toml"


@pytest.fixture
def write_config(emu: Any, config_path: Path) -> Callable[..., Path]:
    """`write_config(rules_toml, resync="1d")` → the path of the written schedules.toml."""

    def write(rules: str, resync: str = "1d") -> Path:
        config_path.write_text(accounts_toml(emu, resync) + rules)
        return config_path

    return write


OpenEngine = Callable[..., Awaitable[Scheduler]]


async def converge_at(scheduler: Scheduler, moment: datetime) -> Report:
    """Move the scheduler's hand-moved clock to `moment` and run one pass there."""
    assert isinstance(scheduler.clock, ManualClock)
    scheduler.clock.set(moment)
    return await scheduler.converge_now(trigger="resync")


@pytest.fixture
async def open_engine(emu: Any, config_path: Path, state_dir: Path) -> AsyncIterator[OpenEngine]:
    """`await open_engine(at, bus=None, dry_run=False)` → an opened Scheduler whose
    ManualClock stands at `at` (`scheduler.clock.set(...)` moves it); closed after."""
    opened: list[Scheduler] = []

    async def open_at(
        at: datetime, bus: EventBus | None = None, dry_run: bool = False
    ) -> Scheduler:
        scheduler = Scheduler(
            config_path,
            state_dir,
            bus,
            ManualClock(at),
            env=secrets_env(emu),
            retry=FAST,
            dry_run=dry_run,
        )
        await scheduler.open()
        opened.append(scheduler)
        return scheduler

    yield open_at
    for scheduler in opened:
        await scheduler.close()


@pytest.fixture
def store(state_dir: Path) -> Iterator[SqliteStore]:
    """The state store the engine writes (opened on demand, closed after the test)."""
    opened = SqliteStore.in_dir(state_dir)
    yield opened
    opened.close()
