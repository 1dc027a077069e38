"""A tiny Starlette app on loopback standing in for one Diga account that answers badly:
HTML error pages, truncated JSON, wrong types, missing fields, huge bodies, a gzip bomb,
JSON nested 200,000 deep, a body that trickles in a byte at a time (slow loris), or a 401
that quotes the token it was sent.
The emulator stays faithful; this one lies.

`Misbehaving.mode` picks the garbage and `Misbehaving.on` whether reads ("read"), writes
("write") or both answer it; a write is applied before its answer is spoiled, as a real
platform that fails while answering would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

FLOW_IDS = ("wf_a", "wf_b")
HUGE_BYTES = 20 * 1024 * 1024
MIB = 1024 * 1024
BOMB_BYTES = 2 * 1024 * MIB  # what the bomb expands to; about 2 MB on the wire
DEEP = 200_000  # `[` after `[`
TRICKLE_S = 0.05  # one byte this often: each read is quick, the whole answer never ends


def _flow(flow_id: str, status: str) -> dict[str, Any]:
    return {"id": flow_id, "name": f"flow {flow_id}", "status": status, "updated": 1}


async def _trickle() -> AsyncIterator[bytes]:
    yield b'{"id": "'
    for _ in range(2000):
        await asyncio.sleep(TRICKLE_S)
        yield b"x"


def gzip_bomb(expanded: int) -> Iterator[bytes]:
    """A valid gzip stream of `expanded` zero bytes (about 1000:1), compressed only as fast
    as it is read, so a client that stops early costs the server little."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    for _ in range(expanded // MIB):
        yield squeeze.compress(block)
    yield squeeze.flush()


def filler(size: int) -> Iterator[bytes]:
    """`size` bytes of JSON-ish filler, a megabyte at a time, never held whole."""
    yield b"["
    for _ in range(size // MIB):
        yield b"0," * (MIB // 2)
    yield b"0]"


ECHO = "echoes the token"  # answers 401 quoting the Authorization header it was sent
GARBAGE = {
    "html": lambda: Response("<html><h1>502 Bad Gateway</h1></html>", 200, media_type="text/html"),
    "truncated": lambda: Response(
        '{"id": "wf_a", "status": "ENAB', 200, media_type="application/json"
    ),
    "wrong types": lambda: JSONResponse(
        {"id": ["wf_a"], "status": 1, "data": "none", "has_more": "yes", "updated": {}}
    ),
    "missing fields": lambda: JSONResponse({"name": "a flow"}),
    "huge": lambda: Response(b"[" + b"0," * (HUGE_BYTES // 2) + b"0]", 200),
    "slow loris": lambda: StreamingResponse(_trickle(), media_type="application/json"),
    "deep json": lambda: Response(b"[" * DEEP, 200, media_type="application/json"),
}
FLOOD_BYTES = 300 * MIB
# answers that would cost a careless client gigabytes: streamed, never built whole here
FLOODS = {
    "300 MB": lambda: StreamingResponse(filler(FLOOD_BYTES), media_type="application/json"),
    "gzip bomb": lambda: StreamingResponse(
        gzip_bomb(BOMB_BYTES), media_type="application/json", headers={"Content-Encoding": "gzip"}
    ),
}


@dataclass
class Misbehaving:
    mode: str = "html"
    on: tuple[str, ...] = ("read", "write")
    status: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FLOW_IDS, "ENABLED"))
    writes: int = 0  # PATCH requests applied

    def answer(self, kind: str, good: Any, request: Request) -> Response:
        if kind not in self.on:
            return JSONResponse(good)
        if self.mode == ECHO:  # a platform careless enough to repeat the credential it got
            said = request.headers.get("authorization", "")
            return JSONResponse({"message": f"token rejected: {said}", "detail": said}, 401)
        return {**GARBAGE, **FLOODS}[self.mode]()

    async def list(self, request: Request) -> Response:
        page = [_flow(i, s) for i, s in self.status.items()]
        good = {"data": page, "has_more": False, "last_id": FLOW_IDS[-1]}
        return self.answer("read", good, request)

    async def get(self, request: Request) -> Response:
        flow_id = request.path_params["flow_id"]
        if flow_id not in self.status:
            return JSONResponse({"message": "Workflow not found"}, 404)
        return self.answer("read", _flow(flow_id, self.status[flow_id]), request)

    async def patch(self, request: Request) -> Response:
        flow_id = request.path_params["flow_id"]
        if flow_id not in self.status:
            return JSONResponse({"message": "Workflow not found"}, 404)
        self.status[flow_id] = json.loads(await request.body())["status"]
        self.writes += 1
        return self.answer("write", _flow(flow_id, self.status[flow_id]), request)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/workflow/", self.list, methods=["GET"]),
                Route("/v1/workflow/{flow_id}", self.get, methods=["GET"]),
                Route("/v1/workflow/{flow_id}/status", self.patch, methods=["PATCH"]),
            ]
        )


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


@contextmanager
def serve(platform: Misbehaving) -> Iterator[str]:
    """Serve `platform` on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn installs no handlers of its own, its records propagate (logs.py)
    config = uvicorn.Config(platform.app(), log_level="critical", log_config=None, lifespan="off")
    config.timeout_graceful_shutdown = 1
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(10), "the fake platform did not start"
        assert server.started, "the fake platform did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
