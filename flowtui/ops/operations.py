"""How metrics, health and notifications plug into a running scheduler: one more subscriber
of its event bus plus a transport observer, a one-second timer on the loop, and the HTTP
server's thread. Nothing here is awaited by the scheduler.

What it reads from the scheduler (`SchedulerView`): `bus` and `clock`; `config_path` (for
`[[notify]]` and the A/B switch names, re-read after an accepted reload); `last_report`
when a `PassCompleted` arrives (flow states, unreachable accounts, permanent failures);
`next_transition` after each event and every second (the boundaries a `RuleFired` is matched
with for boundary → verified latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

from flowtui.config import Config, ConfigError, load_config
from flowtui.engine.clock import Clock
from flowtui.engine.events import ConfigReloaded, Event, EventBus, PassCompleted
from flowtui.engine.reconcile import Report
from flowtui.ops.health import HealthTracker
from flowtui.ops.http_server import OpsServer
from flowtui.ops.metrics import Metrics
from flowtui.ops.notify import Notifier
from flowtui.ops.readiness import LeadershipWatch
from flowtui.ops.webhooks import Webhook, webhooks
from flowtui.providers import observers
from flowtui.providers.redaction import LOGGER_NAME

if TYPE_CHECKING:
    from flowtui.engine.leadership import Leadership

log = logging.getLogger(LOGGER_NAME)

TICK_S = 1.0


class SchedulerView(Protocol):
    bus: EventBus
    clock: Clock
    config_path: Path
    last_report: Report | None
    next_transition: datetime | None
    leadership: Leadership | None  # team mode, once in the election


class Operations:
    """`Operations(scheduler, http=(host, port), notify=True)`: subscribe before the
    scheduler starts, `start()` on its loop, `await aclose()` after it stopped. Binding the
    HTTP port happens here, so a port in use fails before anything runs (OSError)."""

    def __init__(
        self,
        scheduler: SchedulerView,
        *,
        http: tuple[str, int] | None = None,
        notify: bool = True,
        environ: Mapping[str, str] | None = None,
        backoff_scale: float = 1.0,
    ) -> None:
        self.scheduler = scheduler
        self.health = HealthTracker()
        self.leadership = LeadershipWatch(self.health)
        self.metrics = Metrics(
            scheduler.clock,
            report=lambda: scheduler.last_report,
            planned=lambda: scheduler.next_transition,
        )
        self.server: OpsServer | None = None
        if http is not None:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.metrics.registry.register(collector)
            self.server = OpsServer(http, self.metrics.registry, self.health)
        config = self._config()
        hooks: list[Webhook] = []
        self.notify_problems: list[str] = []
        if notify and config is not None:
            source = os.environ if environ is None else environ
            hooks, self.notify_problems = webhooks(config, source)
        self.notifier = (
            Notifier(
                hooks,
                scheduler.clock,
                config=config,
                counted=lambda status: self.metrics.notifications.labels(status).inc(),
                backoff_scale=backoff_scale,
            )
            if hooks
            else None
        )
        self._queue = scheduler.bus.subscribe()
        self._tasks: list[asyncio.Task[None]] = []

    def _config(self) -> Config | None:
        """The file as the scheduler will load it; None when it cannot (the scheduler says
        why and exits)."""
        try:
            return load_config(self.scheduler.config_path)
        except ConfigError:
            return None

    def start(self) -> None:
        self.metrics.note_plan()
        for problem in self.notify_problems:
            log.warning("%s", problem)
        if self.server is not None:
            observers.add_observer(self.metrics)
            self.server.start()
        if self.notifier is not None:
            self.notifier.start()
        self._tasks = [
            asyncio.create_task(self._follow(), name="flowtui-ops-events"),
            asyncio.create_task(self._tick(), name="flowtui-ops-timer"),
        ]

    async def aclose(self) -> None:
        """Take in the last events, give waiting notifications a moment, stop serving."""
        self._drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.notifier is not None:
            await self.notifier.aclose()
        if self.server is not None:
            observers.remove_observer(self.metrics)
            self.server.stop()
        with contextlib.suppress(ValueError):
            self.scheduler.bus.unsubscribe(self._queue)

    def observe(self, event: Event) -> None:
        report = self.scheduler.last_report if isinstance(event, PassCompleted) else None
        if self.server is not None:
            self.metrics.observe(event)
        self.health.observe(event, report)
        self.health.beat(self.scheduler.next_transition)  # the loop is alive: it is here
        if self.notifier is not None:
            if isinstance(event, ConfigReloaded) and event.ok and (config := self._config()):
                self.notifier.configure(config)
            self.notifier.observe(event, report)

    def _drain(self) -> None:
        while not self._queue.empty():
            self.observe(self._queue.get_nowait())

    async def _follow(self) -> None:
        while True:
            self.observe(await self._queue.get())

    async def _tick(self) -> None:
        while True:
            self.health.beat(self.scheduler.next_transition)
            if (leadership := self.scheduler.leadership) is not None:  # team mode
                await self.leadership.look(leadership)
                self.metrics.leader.set(1 if leadership.is_leader else 0)  # not a standby
            self.metrics.note_plan()
            if self.notifier is not None:
                self.notifier.tick()
            await asyncio.sleep(TICK_S)
