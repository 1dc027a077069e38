"""The running emulator: the four platforms' state, their faults, the request log, the RNG."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Protocol

from starlette.responses import Response
from starlette.routing import BaseRoute

from flowtui.emulator.bitrix24 import Bitrix24
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.diga import Diga
from flowtui.emulator.faults import PlatformFaults, RequestLog, default_faults
from flowtui.emulator.gassapi import Gassapi
from flowtui.emulator.runflow import Runflow
from flowtui.emulator.webhooks import WebhookSinks


class Platform(Protocol):
    """What every emulated platform offers to the app and the admin API."""

    def reset(self, flows: int, seed: int, options: dict[str, Any]) -> None: ...

    def routes(self) -> list[BaseRoute]: ...

    def server_error(self) -> Response: ...

    def http_error(self, status: int) -> Response:
        """The platform's answer to a path it does not have (404) or a wrong method (405)."""
        ...

    def to_raw(self) -> dict[str, Any]: ...

    def set_flow(self, flow_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Change a flow's raw state as someone else would; None when there is no such flow;
        ValueError for a field the platform does not have."""
        ...

    def expire_tokens(self) -> int:
        """Expire every issued access token; ValueError when the platform has none."""
        ...


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.log = RequestLog(config.request_log_size)
        self.faults: dict[str, PlatformFaults] = default_faults(config)
        self.platforms: dict[str, Platform] = {
            "diga": Diga(self),
            "gassapi": Gassapi(self),
            "runflow": Runflow(self),
            "bitrix24": Bitrix24(self),
        }
        self._release: asyncio.Event | None = None
        self.webhooks = WebhookSinks()  # notifications received (see webhooks.py)
        self.reset(config.flows, config.seed, {"gassapi_big_project": config.gassapi_big_project})

    def reset(self, flows: int, seed: int, options: dict[str, Any]) -> None:
        """Re-seed every platform, restore default faults and credentials, clear the log."""
        self.rng.seed(seed)
        self.faults.update(default_faults(self.config))
        self.log.entries.clear()
        self.release_held()
        self.webhooks.clear()
        for platform in self.platforms.values():
            platform.reset(flows, seed, options)

    def release(self) -> asyncio.Event:
        """The event that frees requests held open by `drop_after_apply` (made in the loop)."""
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    def release_held(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = None
