"""Independent lanes of work: each unit (an account, an A/B switch) runs one pass at a time,
and units never wait for each other (SPEC §3: a slow account delays only its own flows).

A request for a unit that is busy is merged into one follow-up pass at the latest instant
asked (a full pass if any request was full), so a burst of wake-ups costs one extra pass,
and no wake-up waits for another unit's reads, retries or backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

Result = TypeVar("Result")
Run = Callable[[str, datetime, bool], Awaitable[Result]]


@dataclass
class _Request(Generic[Result]):
    at: datetime
    full: bool
    waiters: list[asyncio.Future[Result]] = field(default_factory=list)

    def merge(self, at: datetime, full: bool) -> None:
        self.at = max(self.at, at)
        self.full = self.full or full


class Lanes(Generic[Result]):
    """Runs `run(unit, at, full)` per unit, one at a time per unit, units concurrently."""

    def __init__(self, run: Run[Result]) -> None:
        self._run = run
        self._waiting: dict[str, _Request[Result]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def request(self, unit: str, at: datetime, full: bool) -> asyncio.Future[Result]:
        """A pass of `unit` at `at` or later; the future gives that pass's result."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(unit)
        if waiting is None:
            waiting = self._waiting[unit] = _Request(at, full)
        else:
            waiting.merge(at, full)
        waiting.waiters.append(future)
        if unit not in self._tasks:
            self._tasks[unit] = asyncio.create_task(self._drive(unit), name=f"lane {unit}")
        return future

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def drain(self) -> None:
        """Wait until no unit has work running or waiting."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self, grace: float) -> None:
        """Let running passes finish for up to `grace` seconds, then cancel what is left (a
        change cut off leaves its intent open, and the next start re-verifies it)."""
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            for task in list(self._tasks.values()):
                task.cancel()
            await self.drain()
        for request in self._waiting.values():  # asked for while being cut off
            for waiter in request.waiters:
                waiter.cancel()
        self._waiting.clear()

    async def _drive(self, unit: str) -> None:
        try:
            while (request := self._waiting.pop(unit, None)) is not None:
                try:
                    result = await self._run(unit, request.at, request.full)
                except asyncio.CancelledError:
                    for waiter in request.waiters:
                        waiter.cancel()
                    for waiter in self._waiting.pop(unit, request).waiters:
                        waiter.cancel()
                    raise
                except Exception as exc:  # the waiters raise it: nothing is swallowed here
                    for waiter in request.waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in request.waiters:
                    if not waiter.done():
                        waiter.set_result(result)
        finally:
            del self._tasks[unit]
