"""The scheduler inside the app: started in-process when this process can take the state
directory's lock (otherwise the status bar says who holds it, and the app takes the
scheduler over within a few seconds of that process going away), its events forwarded to
the table and the status bar as they happen.

In team mode (`flowtui tui --scheduler`) there is no lock: the embedded scheduler joins the
election for the lease as one more candidate (flowtui.engine.leadership, as the daemon
does), and while the shared database cannot be used it tries again every few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.config import ConfigError
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import Event, EventBus, PassCompleted, SchedulerState, SchedulerStatus
from flowtui.engine.lock import LockHeld, SchedulerLock
from flowtui.ops.health import HealthTracker
from flowtui.providers.base import ProviderError
from flowtui.providers.clients import AccountClients
from flowtui.store import StoreError

if TYPE_CHECKING:
    from flowtui.tui.app import FlowtuiApp

TAKEOVER_POLL = timedelta(seconds=1)  # how often a held lock is probed for its holder leaving
TEAM_RETRY = timedelta(seconds=3)  # team mode: how often a start waits on the database


class _CallableClock:
    """The engine's Clock protocol over the app's clock function."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def wall(self, instant: datetime) -> datetime:
        return datetime.now(UTC) + (instant - self.now())


def status_label(state: SchedulerState) -> str:
    if state.status is SchedulerStatus.HELD:
        return f"held by pid {state.holder_pid}" if state.holder_pid else "held elsewhere"
    return str(state.status)


class SchedulerLink:
    """Owns the embedded `Scheduler` and the task that forwards its events to the app."""

    def __init__(
        self,
        config_path: Path,
        state_dir: Path,
        *,
        clients: AccountClients,
        clock: Callable[[], datetime],
        read_only: bool = False,
        team: bool = False,
    ) -> None:
        self.team = team
        self.bus = EventBus()
        self._make = partial(
            Scheduler,
            config_path,
            state_dir,
            self.bus,
            _CallableClock(clock),
            retry=clients.env.retry,
            dry_run=read_only,
            clients=clients,
        )
        self.scheduler = self._make()
        self.embedded = False
        self.label = "starting"
        self.reason = "the scheduler is starting"
        self._queue: asyncio.Queue[Event] = self.bus.subscribe()
        self.health = HealthTracker()  # the status bar shows what /readyz would

    def start(self, app: FlowtuiApp) -> None:
        app.run_worker(self._forward(app), group="scheduler-events", exit_on_error=False)
        app.run_worker(self._start(app), group="scheduler", exit_on_error=False)

    async def _start(self, app: FlowtuiApp) -> None:
        """Start the scheduler here; while another process holds the lock, say who, and take
        the scheduler over as soon as that process lets go (stops, crashes)."""
        holder: int | None = None
        while True:
            try:
                await self.scheduler.start()
            except LockHeld as held:
                holder = held.pid
                self.reason = str(held)
                self.label = f"held by pid {held.pid}" if held.pid else "held elsewhere"
                app.show_scheduler(self.label)
                await self._until_lock_free()
                continue
            except (ConfigError, StoreError, ProviderError) as exc:
                if self.team and isinstance(exc, StoreError):  # the database may come back
                    await self._wait_for_database(app, exc)
                    continue
                first = exc.problems[0] if isinstance(exc, ConfigError) and exc.problems else exc
                self.reason = f"the scheduler cannot start: {first}"
                self.label = "not running"
                self.health.failed_to_start(self.reason)
                app.show_health(self.health.health.summary())
                app.notify(self.reason, title="scheduler", severity="error")
            else:
                self.embedded = True
                self.reason = ""
                self.label = "planning only (read-only)" if self.scheduler.dry_run else "running"
                if holder is not None:
                    app.notify(
                        f"pid {holder} no longer runs the scheduler: this app runs it now",
                        title="scheduler taken over",
                    )
            app.show_scheduler(self.label)
            return

    async def _wait_for_database(self, app: FlowtuiApp, error: StoreError) -> None:
        """Team mode: say why the scheduler cannot stand yet, and try again with a new one
        after TEAM_RETRY (a failed start closed the old one)."""
        self.reason = f"the scheduler waits for the shared database: {error}"
        if self.label != "waiting for the database":
            self.label = "waiting for the database"
            app.show_scheduler(self.label)
        await asyncio.sleep(TEAM_RETRY.total_seconds())
        self.scheduler = self._make()

    async def _until_lock_free(self) -> None:
        lock = SchedulerLock(self.scheduler.state_dir)
        while not lock.free():  # noqa: ASYNC110 (a file lock offers no event to wait on)
            await asyncio.sleep(TAKEOVER_POLL.total_seconds())

    async def _forward(self, app: FlowtuiApp) -> None:
        while True:
            event = await self._queue.get()
            report = self.scheduler.last_report if isinstance(event, PassCompleted) else None
            before = self.health.health.summary()
            self.health.observe(event, report)
            if self.health.health.summary() != before:
                app.show_health(self.health.health.summary())
            if isinstance(event, SchedulerState):
                if event.status is not SchedulerStatus.STOPPED:
                    self.label = status_label(event)
                    app.show_scheduler(self.label)
            else:
                app.scheduler_event(event)

    async def stop(self) -> None:
        if self.embedded:
            self.embedded = False
            await self.scheduler.stop()
        else:
            await self.scheduler.close()

    def toggle_pause(self) -> bool:
        """Pause or resume; True when it is paused now."""
        if self.scheduler.paused:
            self.scheduler.resume()
        else:
            self.scheduler.pause()
        return self.scheduler.paused

    async def converge(self, trigger: str) -> None:
        """One pass now (e.g. after an override changed), unless paused or not embedded."""
        if self.embedded and not self.scheduler.paused:
            await self.scheduler.converge_now(trigger=trigger)

    async def reload(self) -> None:
        """The app saved a new configuration: the scheduler acts on it at once."""
        if self.embedded:
            await self.scheduler.reload()
