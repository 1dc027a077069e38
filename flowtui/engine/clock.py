"""Where the engine reads the time: the system clock, a clock tests move by hand, or a
compressed clock that runs faster than real time (fault tests, soaks).

APScheduler sleeps on the wall clock; the engine thinks on its own clock. `wall(instant)`
maps an instant of the engine's clock to the wall-clock instant at which it will be due,
so every wake-up is planned on the engine's clock and no test depends on the calendar.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def wall(self, instant: datetime) -> datetime:
        """The wall-clock instant at which this clock will read `instant`."""
        ...


def real_span(clock: Clock, span: timedelta) -> timedelta:
    """How long `span` of `clock`'s time lasts in real time (`span` itself but for a
    compressed clock)."""
    now = clock.now()
    return clock.wall(now + span) - clock.wall(now)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def wall(self, instant: datetime) -> datetime:
        return instant


class ManualClock:
    """A clock that only moves when told to (tests, benchmarks). Instants ahead of it are
    due after the same real delay from now, instants behind it at once."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def wall(self, instant: datetime) -> datetime:
        return datetime.now(UTC) + (instant - self.now())

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class ScaledClock:
    """Reads `start` when made, then runs `factor` times faster than real time."""

    def __init__(self, start: datetime, factor: float) -> None:
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()
        self.factor = factor

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._origin
        return self._start + timedelta(seconds=elapsed * self.factor)

    def wall(self, instant: datetime) -> datetime:
        return datetime.now(UTC) + (instant - self.now()) / self.factor
