"""A transition that falls due while the start pass runs is not skipped (found by the crash
loop: a daemon restarted just before an A/B boundary left the switch unswitched until the
next resync)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import EventBus, PassCompleted
from flowtui.providers.transport import RetryPolicy

from .crash import crash_config
from .soak import secrets_env

BOUNDARY = datetime(2031, 3, 11, 10, 0, 4, tzinfo=UTC)  # the crash config's switches flip here


class SlowClock(ManualClock):
    """Each reading is 300 ms after the one before until a second past the boundary: the
    start pass takes time, and the boundary passes while it runs."""

    def now(self) -> datetime:
        if super().now() > BOUNDARY + timedelta(seconds=1):
            return super().now()
        return self.advance(timedelta(milliseconds=300))


async def test_a_transition_due_during_the_start_pass_is_still_scheduled(
    emu: Any, tmp_path: Path
) -> None:
    config = tmp_path / "schedules.toml"
    config.write_text(crash_config(emu))
    clock = SlowClock(BOUNDARY - timedelta(seconds=1))
    bus = EventBus()
    events = bus.subscribe()
    scheduler = Scheduler(
        config, tmp_path / "state", bus, clock, env=secrets_env(emu), retry=RetryPolicy(scale=0)
    )
    try:
        await scheduler.start()
        assert clock.now() > BOUNDARY  # the boundary passed while the scheduler started
        # the wake-up was planned at the boundary (or already made it and planned the next)
        assert scheduler.next_transition is not None
        assert scheduler.next_transition >= BOUNDARY
        async with asyncio.timeout(10):  # (the job's instant is long past in real time)
            while not isinstance(event := await events.get(), PassCompleted) or (
                event.trigger != "transition"
            ):
                pass
        assert event.changed > 0, scheduler.last_report
    finally:
        await scheduler.stop()
