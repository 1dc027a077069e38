"""Helpers of the app tests: the config text, waiting on the app, reading the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from textual.pilot import Pilot

from flowtui.tui.app import FlowtuiApp

FIXED_NOW = datetime(2031, 11, 24, 9, 30, tzinfo=UTC)  # a Monday, 10:30 in Berlin
WAIT_S = 10.0

MakeApp = Callable[..., FlowtuiApp]


def config_text(emu: Any, *, confirm: bool = False, settings: str = "", extra: str = "") -> str:
    """One account per platform on the emulator (Bitrix24: its first five flows)."""
    ids = [int(flow["id"]) for flow in emu.state("bitrix24")["flows"]][:5]
    return f"""
[settings]
timezone = "Europe/Berlin"
confirm = {str(confirm).lower()}
{settings}

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "FT_DIGA_KEY"
timeout = "2s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "FT_GASS_TOKEN"
refresh_token_env = "FT_GASS_REFRESH"
timeout = "2s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "FT_RUNFLOW_KEY"
timeout = "2s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "FT_B24_WEBHOOK"
flow_ids = {ids}
timeout = "2s"
{extra}"""


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (the app's workers do real HTTP)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def loaded(pilot: Pilot[Any]) -> FlowtuiApp:
    """Wait until the first refresh filled the table."""
    app: FlowtuiApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.table.row_count > 0 and not app._refreshing, "the table")
    return app


def diga_flows(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("diga")["flows"]}


def pick_diga(emu: Any, **wanted: Any) -> str:
    return next(i for i, f in diga_flows(emu).items() if all(f[k] == v for k, v in wanted.items()))


async def put_cursor(pilot: Pilot[Any], key: str) -> None:
    """Move the table's cursor to the row `account:flow_id`."""
    app: FlowtuiApp = pilot.app  # type: ignore[assignment]
    app.table.focus()
    app.table.move_cursor(row=app.table.get_row_index(key))
    await pilot.pause()
