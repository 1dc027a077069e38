"""Health of a scheduler, as `/healthz`, `/readyz` and the app's status bar show it.

`HealthTracker.observe` follows the event bus on the loop and keeps an immutable `Health`
snapshot that another thread (the HTTP server) may read at any time; `beat()`, called by a
timer on the loop, proves the loop is alive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flowtui.engine.events import (
    ConfigReloaded,
    EngineFailed,
    Event,
    PassCompleted,
    SchedulerState,
)
from flowtui.engine.reconcile import Report
from flowtui.ops.passes import reachability

STALE_LOOP_S = 10.0  # /healthz fails when the loop has not beaten for this long
READY = ("running", "paused", "held")  # leader (running, paused) or standby (held)


@dataclass(frozen=True)
class Health:
    """What /readyz answers. Ready: the configuration is loaded, the store answered the last
    pass, and the process is the scheduler (running or paused) or its standby (held)."""

    scheduler: str = "starting"  # starting | running | paused | held | stopped | failed
    holder_pid: int | None = None
    problem: str | None = None  # why it could not start, or the store's last failure
    reload_refused: str | None = None  # the old rules stay in force
    accounts_in_error: tuple[str, ...] = ()
    last_pass: datetime | None = None
    next_transition: datetime | None = None
    # team mode (flowtui.ops.readiness): `leader (epoch 3)` or `standby (leader host:pid,
    # heartbeat 2 s ago)`, and why the lease could not be read (then not ready)
    leadership: str | None = None
    lease_problem: str | None = None

    @property
    def ready(self) -> bool:
        return self.scheduler in READY and self.problem is None and self.lease_problem is None

    def summary(self) -> str:
        """One line: `ready` (in team mode `ready: standby (leader …)`), or `not ready: why`."""
        if self.ready:
            return f"ready: {self.leadership}" if self.leadership else "ready"
        if self.lease_problem is not None and self.problem is None:
            return f"not ready: {self.lease_problem}"
        if self.problem is not None:
            return f"not ready: {self.problem}"
        return f"not ready: scheduler {self.scheduler}"

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "summary": self.summary(),
            "scheduler": self.scheduler,
            "holder_pid": self.holder_pid,
            "config": "loaded" if self.scheduler in READY else "not loaded",
            "store": "ok" if self.problem is None and self.lease_problem is None else "failing",
            "leadership": self.leadership,
            "reload_refused": self.reload_refused,
            "accounts_in_error": list(self.accounts_in_error),
            "last_pass": self.last_pass.isoformat() if self.last_pass else None,
            "next_transition": self.next_transition.isoformat() if self.next_transition else None,
        }


class HealthTracker:
    def __init__(self) -> None:
        self.health = Health()
        self.last_beat = time.monotonic()

    def beat(self, next_transition: datetime | None = None) -> None:
        """The loop is alive (called by a timer on it); the scheduler waits for
        `next_transition`."""
        self.last_beat = time.monotonic()
        if next_transition != self.health.next_transition:
            self.health = replace(self.health, next_transition=next_transition)

    def loop_alive(self) -> tuple[bool, float]:
        """Whether the loop beat recently, and how long ago (any thread may ask)."""
        age = time.monotonic() - self.last_beat
        return age < STALE_LOOP_S, age

    def note_leadership(self, leadership: str, lease_problem: str | None) -> None:
        """Team mode: this replica's part, as the lease says (any thread may read it)."""
        if (leadership, lease_problem) != (self.health.leadership, self.health.lease_problem):
            self.health = replace(self.health, leadership=leadership, lease_problem=lease_problem)

    def failed_to_start(self, why: str) -> None:
        self.health = replace(self.health, scheduler="failed", problem=why)

    def observe(self, event: Event, report: Report | None = None) -> None:
        """Follow one event; `report` is the pass's report when `event` completes a pass."""
        health = self.health
        match event:
            case SchedulerState():
                health = replace(
                    health,
                    scheduler=str(event.status),
                    holder_pid=event.holder_pid,
                    next_transition=event.next_transition,
                )
            case EngineFailed():
                health = replace(health, problem=event.message)
            case ConfigReloaded():
                health = replace(health, reload_refused=None if event.ok else event.message)
            case PassCompleted():
                errors = health.accounts_in_error
                if report is not None:
                    errors = tuple(sorted(a for a, e in reachability(report).items() if e))
                health = replace(health, problem=None, last_pass=event.at, accounts_in_error=errors)
        self.health = health
