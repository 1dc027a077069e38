"""LeanPool: httpcore's connections with linear-time assignment, same guarantees."""

from __future__ import annotations

import asyncio

import httpcore

from flowtui.providers.pool import LeanPool

ANSWER = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n", b"\r\n", b"ok"]
URL = "http://platform.test/flows"


def pool(max_connections: int, **options: float) -> LeanPool:
    """A pool whose every connection answers 200 `ok` up to 20 times (keep-alive)."""
    backend = httpcore.AsyncMockBackend(ANSWER * 20)
    return LeanPool(max_connections=max_connections, network_backend=backend, **options)


async def test_a_burst_gets_every_answer_without_passing_the_connection_limit() -> None:
    lean = pool(3)
    in_use = 0

    async def one() -> bytes:
        nonlocal in_use
        async with lean.stream("GET", URL) as response:
            in_use = max(in_use, len(lean.connections))
            await asyncio.sleep(0)  # hold the connection while the others queue
            return b"".join([piece async for piece in response.aiter_stream()])

    assert await asyncio.gather(*(one() for _ in range(10))) == [b"ok"] * 10
    assert in_use <= 3
    assert len(lean.connections) <= 3


async def test_an_idle_connection_is_reused() -> None:
    lean = pool(5)
    for _ in range(4):
        assert (await lean.request("GET", URL)).content == b"ok"
    assert len(lean.connections) == 1
    assert "Request Count: 4" in repr(lean.connections[0])


async def test_an_expired_idle_connection_is_closed_and_replaced() -> None:
    lean = pool(5, keepalive_expiry=0.0)
    await lean.request("GET", URL)
    first = lean.connections[0]
    assert (await lean.request("GET", URL)).status == 200
    assert first.is_closed()
    assert [c for c in lean.connections if c is first] == []
