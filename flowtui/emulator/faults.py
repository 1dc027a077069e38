"""Injected faults and per-platform tunables, and the gate every platform request passes.

The gate (an ASGI wrapper around each platform's router) adds latency, answers injected 5xx
before the request reaches the platform, answers unknown paths and methods in the platform's
own error shape, records every request in the log, and loses the
response of a mutating request when `drop_after_apply` asks for it: the change is applied,
then the request is held open without an answer until the client gives up (its read timeout
closes the connection). A client still waiting when the emulator is reset or stopped, or
after `drop_hang_s`, gets the platform's 5xx instead.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowtui.emulator.config import EmulatorConfig

COMMON_FIELDS = frozenset({"latency_ms", "error_rate", "burst_5xx", "drop_after_apply"})
PLATFORM_FIELDS = {
    "diga": COMMON_FIELDS,
    "gassapi": COMMON_FIELDS | {"other_error_shape_rate", "token_ttl_s"},
    "runflow": COMMON_FIELDS | {"rate_limit_per_s", "rate_limit_burst", "retry_after_s"},
    "bitrix24": COMMON_FIELDS
    | {"bucket_drain_per_s", "bucket_threshold", "token_ttl_s", "overload_limit"},
}
_RATES = ("error_rate", "other_error_shape_rate")
_COUNTS = ("burst_5xx", "drop_after_apply", "rate_limit_burst", "bucket_threshold")
_OPTIONAL = ("rate_limit_per_s", "retry_after_s")
_SWITCHES = ("overload_limit",)


@dataclass
class PlatformFaults:
    """Faults and limits of one platform; `PUT /_emulator/faults/{platform}` edits them."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # share of requests answered with a 5xx before being handled
    burst_5xx: int = 0  # the next N requests get a 5xx
    drop_after_apply: int = 0  # the next N mutating requests are applied, the answer lost
    other_error_shape_rate: float = 0.0  # GASSAPI: share of errors as {"status","message"}
    token_ttl_s: float = 0.0  # GASSAPI / Bitrix24: lifetime of newly issued access tokens
    rate_limit_per_s: float | None = None  # Runflow: per-organisation rate (None: no limit)
    rate_limit_burst: int = 0  # Runflow: requests allowed at once
    retry_after_s: int | None = None  # Runflow: Retry-After on 429 (None: header absent)
    bucket_drain_per_s: float = 0.0  # Bitrix24 leaky bucket: drain per second
    bucket_threshold: int = 0  # Bitrix24 leaky bucket: requests held before 503
    overload_limit: bool = False  # Bitrix24: every call gets 503 OVERLOAD_LIMIT (a manual block)

    def to_dict(self, platform: str) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in PLATFORM_FIELDS[platform]}

    def update(self, platform: str, changes: dict[str, Any]) -> None:
        """Apply `changes` after checking names and values; ValueError names the first bad one."""
        for name, value in changes.items():
            if name not in PLATFORM_FIELDS[platform]:
                raise ValueError(f"{platform} has no fault or setting {name!r}")
            if value is None and name in _OPTIONAL:
                continue
            if name in _SWITCHES:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            if value < 0 or (name in _RATES and value > 1):
                raise ValueError(f"{name} is out of range")
            if name in _COUNTS and value != int(value):
                raise ValueError(f"{name} must be a whole number")
        for name, value in changes.items():
            number = value if value is None else int(value) if name in _COUNTS else value
            setattr(self, name, number)


def default_faults(config: EmulatorConfig) -> dict[str, PlatformFaults]:
    latency = config.latency_ms
    return {
        "diga": PlatformFaults(latency_ms=latency),
        "gassapi": PlatformFaults(latency_ms=latency, token_ttl_s=config.gassapi_token_ttl_s),
        "runflow": PlatformFaults(
            latency_ms=latency,
            rate_limit_per_s=config.runflow_rate_per_s,
            rate_limit_burst=config.runflow_burst,
            retry_after_s=config.runflow_retry_after_s,
        ),
        "bitrix24": PlatformFaults(
            latency_ms=latency,
            token_ttl_s=config.bitrix24_token_ttl_s,
            bucket_drain_per_s=config.bitrix24_drain_per_s,
            bucket_threshold=config.bitrix24_threshold,
        ),
    }


def mark_applied(request: Request) -> None:
    """Called by a handler once it has changed state: the request counts as mutating, and
    the log counts the changes it applied (a Bitrix24 `batch` may apply many)."""
    request.state.applied = getattr(request.state, "applied", 0) + 1


_WEBHOOK_CODE = re.compile(r"^(/bitrix24/rest/[^/]+/)[^/]+/")
_AUTH_PARAM = re.compile(r"(^|&)(auth|refresh_token|client_secret)=[^&]*")


def redact(path: str, query: str) -> tuple[str, str]:
    """The request log never holds a webhook code or a token passed in the query."""
    return _WEBHOOK_CODE.sub(r"\1***/", path), _AUTH_PARAM.sub(r"\1\2=***", query)


class RequestLog:
    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)

    def add(self, scope: Scope, platform: str, status: int, started: float, dropped: bool) -> None:
        path, query = redact(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        self.entries.append(
            {
                "method": scope["method"],
                "path": path,
                "query": query,
                "platform": platform,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "dropped": dropped,
                "applied": scope.get("state", {}).get("applied", 0),
                "at": time.time(),
            }
        )


class PlatformGate:
    """ASGI wrapper: latency, injected 5xx, lost answers and the request log for one platform."""

    def __init__(
        self,
        platform: str,
        app: ASGIApp,
        *,
        faults: Callable[[], PlatformFaults],
        rng: random.Random,
        log: RequestLog,
        server_error: Callable[[], Response],
        http_error: Callable[[int], Response],
        release: Callable[[], asyncio.Event],
        drop_hang_s: float,
    ) -> None:
        self.platform = platform
        self.app = app
        self.faults = faults
        self.rng = rng
        self.log = log
        self.server_error = server_error
        self.http_error = http_error
        self.release = release
        self.drop_hang_s = drop_hang_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        faults = self.faults()
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if self._inject_5xx(faults):
            response = self.server_error()
            await response(scope, receive, send)
            self.log.add(scope, self.platform, response.status_code, started, dropped=False)
            return
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        scope.setdefault("state", {})
        try:
            await self.app(scope, receive, hold)
        except HTTPException as unrouted:  # no such path, or a method it does not take
            messages.clear()
            await self.http_error(unrouted.status_code)(scope, receive, hold)
        except ClientDisconnect:  # the client gave up (its timeout) before sending its body
            self.log.add(scope, self.platform, 499, started, dropped=False)
            return
        status = next((m["status"] for m in messages if m["type"] == "http.response.start"), 500)
        if scope["state"].get("applied") and faults.drop_after_apply > 0:
            faults.drop_after_apply -= 1
            self.log.add(scope, self.platform, status, started, dropped=True)
            if not await self._hold_open(receive):
                await self.server_error()(scope, receive, send)
            return
        for message in messages:
            await send(message)
        self.log.add(scope, self.platform, status, started, dropped=False)

    def _inject_5xx(self, faults: PlatformFaults) -> bool:
        if faults.burst_5xx > 0:
            faults.burst_5xx -= 1
            return True
        return faults.error_rate > 0 and self.rng.random() < faults.error_rate

    async def _hold_open(self, receive: Receive) -> bool:
        """Wait without answering; true when the client gave up (disconnected)."""

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        disconnect = asyncio.ensure_future(until_disconnect())
        released = asyncio.ensure_future(self.release().wait())
        await asyncio.wait(
            {disconnect, released}, timeout=self.drop_hang_s, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in (disconnect, released):
            waiter.cancel()
        return disconnect.done() and not disconnect.cancelled()
