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


Event = FlowChanged | RuleFired | SchedulerState


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
