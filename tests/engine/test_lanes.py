"""Lanes: one pass at a time per unit, units independent, requests merged while busy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from flowtui.engine.lanes import Lanes

T = datetime(2031, 11, 24, tzinfo=UTC)


async def test_a_busy_unit_holds_no_other_and_merges_its_requests() -> None:
    release = asyncio.Event()
    runs: list[tuple[str, datetime, bool]] = []

    async def run(unit: str, at: datetime, full: bool) -> str:
        runs.append((unit, at, full))
        if unit == "slow" and len(runs) == 1:
            await release.wait()
        return f"{unit}@{at:%S}"

    lanes: Lanes[str] = Lanes(run)
    first = lanes.request("slow", T, False)
    await asyncio.sleep(0)
    assert await lanes.request("fast", T, False) == "fast@00"  # not held by "slow"
    second = lanes.request("slow", T + timedelta(seconds=1), True)
    third = lanes.request("slow", T + timedelta(seconds=2), False)
    release.set()
    assert await first == "slow@00"
    assert await second == await third == "slow@02"  # one follow-up pass for both
    assert runs[-1] == ("slow", T + timedelta(seconds=2), True)
    assert len(runs) == 3


async def test_stop_cuts_off_a_pass_that_outlasts_the_grace() -> None:
    async def run(unit: str, at: datetime, full: bool) -> None:
        await asyncio.Event().wait()  # never answers

    lanes: Lanes[None] = Lanes(run)
    stuck = lanes.request("stuck", T, True)
    await asyncio.sleep(0)
    await lanes.stop(grace=0.05)
    assert not lanes.busy
    with pytest.raises(asyncio.CancelledError):
        await stuck


async def test_stop_also_ends_the_requests_waiting_behind_a_cut_off_pass() -> None:
    async def run(unit: str, at: datetime, full: bool) -> None:
        await asyncio.Event().wait()  # never answers

    lanes: Lanes[None] = Lanes(run)
    running = lanes.request("stuck", T, True)
    await asyncio.sleep(0)
    waiting = lanes.request("stuck", T + timedelta(seconds=1), False)  # merged, not started
    await lanes.stop(grace=0.05)
    async with asyncio.timeout(5):  # (before the fix, the waiting one was never answered)
        for future in (running, waiting):
            with pytest.raises(asyncio.CancelledError):
                await future
