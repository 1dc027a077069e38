"""`[[notify]]`: the scheduler's events and pass reports turned into incidents, one
`Incidents` per target (each has its own `on`, `after` and `recover_after`), and their
messages handed to the targets' deliveries. Called on the loop; never waits for a webhook."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from flowtui.config import Config
from flowtui.engine.clock import Clock
from flowtui.engine.events import (
    ConfigReloaded,
    DriftDetected,
    Event,
    PassCompleted,
    SchedulerState,
    SchedulerStatus,
)
from flowtui.engine.reconcile import Report
from flowtui.ops.incidents import Incidents, Message
from flowtui.ops.passes import reachability, read_failed
from flowtui.ops.webhooks import Delivery, Webhook

FLUSH_S = 2.0  # at shutdown, how long waiting messages may still take
LEADING = (SchedulerStatus.RUNNING, SchedulerStatus.PAUSED)


@dataclass(frozen=True)
class Finding:
    """One subject's state in one pass: failing (with `detail`) or healthy (`detail` None)."""

    kind: str
    key: str
    title: str
    subject: str
    detail: str | None


def findings(report: Report, switches: set[str]) -> Iterator[Finding]:
    """What a pass's report says about accounts, A/B switches and permanent failures."""
    for account, error in reachability(report).items():
        title = f"account {account} unreachable"
        yield Finding("account_unreachable", f"account:{account}", title, account, error)
    for outcome in report.outcomes:
        if read_failed(outcome):
            continue  # the account's incident covers it
        flow = str(outcome.flow)
        if outcome.rule in switches:
            title = f"A/B switch {outcome.rule!r} rolled back or held"
            detail = outcome.error if outcome.failed else None
            yield Finding("switch", f"switch:{outcome.rule}", title, flow, detail)
        elif not outcome.failed or outcome.permanent:  # transient: still being retried
            title = f"changes of rule {outcome.rule!r} failed permanently"
            detail = outcome.error if outcome.failed else None
            yield Finding("change_failed", f"change_failed:{outcome.rule}", title, flow, detail)


class Target:
    def __init__(self, hook: Webhook, delivery: Delivery) -> None:
        self.hook = hook
        self.delivery = delivery
        settings = hook.config
        delays = {"account_unreachable": settings.after}
        self.incidents = Incidents(delays, settings.recover_after)

    def wants(self, kind: str) -> bool:
        return kind in self.hook.config.on

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            if self.wants(message.kind):
                self.delivery.submit(message)


class Notifier:
    """Follows the bus (`observe`) and the clock (`tick`); see the module doc."""

    def __init__(
        self,
        hooks: list[Webhook],
        clock: Clock,
        *,
        config: Config | None = None,
        counted: Callable[[str], None] = lambda status: None,
        backoff_scale: float = 1.0,
    ) -> None:
        self.clock = clock
        self._client = httpx.AsyncClient(follow_redirects=False)
        self.targets = [
            Target(hook, Delivery(hook, self._client, counted=counted, backoff_scale=backoff_scale))
            for hook in hooks
        ]
        self._switches = {rule.name for rule in config.ab_switch} if config else set()
        self._drift: list[DriftDetected] = []
        self._leading = False

    def start(self) -> None:
        for target in self.targets:
            target.delivery.start()

    async def aclose(self) -> None:
        for target in self.targets:
            await target.delivery.flush(FLUSH_S)
        await self._client.aclose()

    def configure(self, config: Config) -> None:
        """A reload was accepted: switches may have changed (targets stay until restart)."""
        self._switches = {rule.name for rule in config.ab_switch}

    def observe(self, event: Event, report: Report | None = None) -> None:
        now = self.clock.now()
        match event:
            case DriftDetected(corrected=True):
                self._drift.append(event)
            case PassCompleted():
                self._pass(report)
            case ConfigReloaded(ok=False):
                self._failing(
                    "reload_refused",
                    "reload",
                    "configuration reload refused",
                    "file",
                    event.message,
                )
            case ConfigReloaded(ok=True):
                for target in self.targets:
                    target.incidents.healthy("reload", "file", now)
            case SchedulerState():
                self._leadership(event)
        self.tick()

    def tick(self) -> None:
        """Send what is due now (incidents that lasted their delay, recoveries)."""
        now = self.clock.now()
        for target in self.targets:
            target.send(target.incidents.due(now))

    def _failing(self, kind: str, key: str, title: str, subject: str, detail: str) -> None:
        now = self.clock.now()
        for target in self.targets:
            if target.wants(kind):
                target.incidents.failing(key, kind, title, subject, detail, now)

    def _pass(self, report: Report | None) -> None:
        now = self.clock.now()
        for finding in findings(report, self._switches) if report else ():
            if finding.detail is not None:
                self._failing(
                    finding.kind, finding.key, finding.title, finding.subject, finding.detail
                )
            else:
                for target in self.targets:
                    target.incidents.healthy(finding.key, finding.subject, now)
        drifted, self._drift = self._drift, []
        for event in drifted:
            detail = f"was {event.actual}, set back to {event.desired}"
            self._failing(
                "drift",
                f"drift:{event.rule}",
                f"rule {event.rule!r} met drift",
                str(event.flow),
                detail,
            )
        self.tick()  # drift is over once corrected: announce it, then let it settle
        for event in drifted:
            for target in self.targets:
                target.incidents.healthy(f"drift:{event.rule}", str(event.flow), now)

    def _leadership(self, event: SchedulerState) -> None:
        leading, was = event.status in LEADING, self._leading
        self._leading = leading
        if leading == was:
            return
        who = f"process {os.getpid()}"
        if leading:
            key, title = "leader:acquired", f"{who} now runs the scheduler"
        elif event.status is SchedulerStatus.HELD:
            holder = f"process {event.holder_pid}" if event.holder_pid else "another process"
            key, title = "leader:lost", f"{who} stopped scheduling: {holder} holds the scheduler"
        else:
            key, title = "leader:released", f"{who} stopped scheduling"
        for target in self.targets:
            if target.wants("leadership"):
                target.send(target.incidents.notice(key, "leadership", title, event.at))
