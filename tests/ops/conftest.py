"""The engine against the emulator (fixtures of tests/engine) plus what operating it adds:
`operations(scheduler, …)` attaches metrics, health and notifications and stops them after
the test; `settle(ops)` lets it take in every event published so far."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from engine.conftest import (  # noqa: F401  (fixtures)
    T0,
    Flows,
    config_path,
    flows,
    open_engine,
    secrets_env,
    state_dir,
    store,
    write_config,
)

from flowtui.engine.daemon import Scheduler
from flowtui.ops.operations import Operations

DEADLINE_S = 20.0


async def settle(ops: Operations) -> None:
    """Until `ops` has observed every event queued so far."""
    for _ in range(10_000):
        if ops._queue.empty():
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)


async def eventually(condition: Callable[[], Any], what: str) -> Any:
    """Poll `condition` while the loop keeps running (deliveries are tasks on it)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while loop.time() < end:
        found = condition()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


Attach = Callable[..., Awaitable[Operations]]


@pytest.fixture
async def operations() -> AsyncIterator[Attach]:
    """`await operations(scheduler, http=("127.0.0.1", 0), notify=False, environ=None)`."""
    attached: list[Operations] = []

    async def attach(scheduler: Scheduler, **options: Any) -> Operations:
        ops = Operations(scheduler, backoff_scale=0.001, **options)
        ops.start()
        attached.append(ops)
        return ops

    yield attach
    for ops in attached:
        await ops.aclose()
