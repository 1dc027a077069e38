"""A webhook sink under `/_emulator/webhooks`: stands in for a Slack incoming webhook or any
JSON webhook, so that tests and the demo can see the notifications a client sends.

`POST /_emulator/webhooks/{name}` receives one message (any body, at most 1 MB) and answers
    200 `ok` as Slack's incoming webhooks do — unless told otherwise by PUT.
`GET /_emulator/webhooks/{name}` → `{"received": [{"at", "content_type", "body"}],
    "attempts": N}`, oldest first; `body` is the parsed JSON, or the text when it is not
    JSON; `attempts` counts every POST, answered or not.
`GET /_emulator/webhooks` → `{name: {...}}` for every name that was posted to or set.
`PUT /_emulator/webhooks/{name}` body (all optional) `{"fail": N, "status": S, "hold": B}`:
    the next N posts are answered with status S (default 503) and not received; with
    `hold` true, posts wait unanswered until it is set back to false (or 120 s pass), as a
    webhook that hangs. Answers the sink's settings.
`DELETE /_emulator/webhooks` forgets every sink; `POST /_emulator/reset` does too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

MAX_BODY = 1_000_000
HOLD_LIMIT_S = 120.0


@dataclass
class Sink:
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    fail: int = 0
    status: int = 503
    released: asyncio.Event | None = None  # set while posts are held

    def to_raw(self) -> dict[str, Any]:
        return {"received": self.received, "attempts": self.attempts}

    def settings(self) -> dict[str, Any]:
        return {"fail": self.fail, "status": self.status, "hold": self.released is not None}


class WebhookSinks:
    def __init__(self) -> None:
        self.sinks: dict[str, Sink] = {}

    def clear(self) -> None:
        for sink in self.sinks.values():
            if sink.released is not None:
                sink.released.set()
        self.sinks.clear()

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks", self.all, methods=["GET", "DELETE"]),
            Route("/webhooks/{name}", self.one, methods=["GET", "POST", "PUT"]),
        ]

    async def all(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            self.clear()
        return JSONResponse({name: sink.to_raw() for name, sink in self.sinks.items()})

    async def one(self, request: Request) -> Response:
        sink = self.sinks.setdefault(request.path_params["name"], Sink())
        if request.method == "GET":
            return JSONResponse(sink.to_raw())
        if request.method == "PUT":
            return self._configure(sink, await request.body())
        return await self._receive(sink, request)

    def _configure(self, sink: Sink, raw: bytes) -> JSONResponse:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(body, dict) or set(body) - {"fail", "status", "hold"}:
            return JSONResponse({"error": "fields are fail, status, hold"}, status_code=422)
        fail, status = body.get("fail", sink.fail), body.get("status", sink.status)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (fail, status)):
            return JSONResponse({"error": "fail and status are whole numbers"}, status_code=422)
        if fail < 0 or not 100 <= status <= 599:
            return JSONResponse({"error": "fail >= 0, status 100..599"}, status_code=422)
        sink.fail, sink.status = fail, status
        hold = body.get("hold")
        if hold is True and sink.released is None:
            sink.released = asyncio.Event()
        elif hold is False and sink.released is not None:
            sink.released.set()
            sink.released = None
        return JSONResponse(sink.settings())

    async def _receive(self, sink: Sink, request: Request) -> Response:
        sink.attempts += 1
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return PlainTextResponse("payload_too_large", status_code=413)
        if sink.released is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.released.wait(), HOLD_LIMIT_S)
        if sink.fail > 0:
            sink.fail -= 1
            return PlainTextResponse("unavailable", status_code=sink.status)
        text = raw.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        sink.received.append(
            {"at": time.time(), "content_type": request.headers.get("content-type"), "body": body}
        )
        return PlainTextResponse("ok")
