"""The scheduler's event stream: the app and the daemon's log printer subscribe to it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flowtui.model import FlowRef, State


@dataclass(frozen=True)
class FlowChanged:
    """A flow's state was read, changed or failed to change."""

    flow: FlowRef
    old: State | None
    new: State
    changed_by: str
    reason: str
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class DriftDetected:
    """A governed flow is not in its desired state although nothing of ours changed it;
    `corrected` tells whether the rule enforces (and the engine is changing it back)."""

    flow: FlowRef
    actual: State
    desired: State
    rule: str
    corrected: bool
    at: datetime


@dataclass(frozen=True)
class PlannedChange:
    """Dry run: the engine would change `flow` from `old` to `new`."""

    flow: FlowRef
    old: State | None
    new: State
    rule: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class AccountFailed:
    """An account could not be built or read; its flows are left alone this pass."""

    account: str
    error: str
    at: datetime


@dataclass(frozen=True)
class ConfigReloaded:
    """The configuration was re-read; when `ok` is False the old rules stay in force."""

    ok: bool
    message: str
    at: datetime


@dataclass(frozen=True)
class EngineFailed:
    """A pass could not run (e.g. the state store is not writable); the next one retries."""

    message: str
    at: datetime


@dataclass(frozen=True)
class PassCompleted:
    """One converge pass ended. `trigger`: start, transition, resync, reload, resume, manual."""

    trigger: str
    at: datetime
    changed: int
    failed: int
    drifted: int


@dataclass(frozen=True)
class RuleFired:
    """A rule's transition came due and the engine is acting on it."""

    rule: str
    at: datetime
    flows: int


class SchedulerStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    HELD = "held"  # another process holds the lock


@dataclass(frozen=True)
class SchedulerState:
    status: SchedulerStatus
    at: datetime
    next_transition: datetime | None = None
    holder_pid: int | None = None


Event = (
    FlowChanged
    | DriftDetected
    | PlannedChange
    | AccountFailed
    | ConfigReloaded
    | EngineFailed
    | PassCompleted
    | RuleFired
    | SchedulerState
)


class EventBus:
    """Fan-out of events to any number of subscribers, each with its own bounded queue.

    Publishing never blocks the engine: a subscriber that falls `maxsize` events behind
    loses its oldest events (and `dropped` counts them) rather than stalling a change."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._queues: list[asyncio.Queue[Event]] = []
        self.dropped = 0

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._maxsize)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._queues.remove(queue)

    def publish(self, event: Event) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(event)
