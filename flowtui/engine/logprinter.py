"""The daemon's log: one line per engine event on a stream (stderr), human or JSON lines.

It is just another subscriber of the event bus, like the app.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TextIO

from flowtui.engine.events import (
    AccountFailed,
    ConfigReloaded,
    DriftDetected,
    EngineFailed,
    Event,
    EventBus,
    FlowChanged,
    PassCompleted,
    PlannedChange,
    RuleFired,
    SchedulerState,
    SchedulerStatus,
)
from flowtui.model import FlowRef, State
from flowtui.providers.base import account_message
from flowtui.providers.redaction import redact

KINDS = {
    FlowChanged: "flow_changed",
    DriftDetected: "drift",
    PlannedChange: "would_change",
    AccountFailed: "account_failed",
    ConfigReloaded: "config_reloaded",
    EngineFailed: "engine_failed",
    PassCompleted: "pass_completed",
    RuleFired: "rule_fired",
    SchedulerState: "scheduler",
}


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, FlowRef):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def as_json(event: Event) -> str:
    fields = {field.name: _plain(getattr(event, field.name)) for field in dataclasses.fields(event)}
    return json.dumps({"event": KINDS[type(event)], **fields})


def _state(value: State | None) -> str:
    return "?" if value is None else str(value)


def as_text(event: Event) -> str | None:
    """One human line, or None for events not worth a line (e.g. a pending change)."""
    match event:
        case FlowChanged(new=State.PENDING):
            return None
        case FlowChanged(error=str() as error):
            text = f"{event.flow}  FAILED {_state(event.old)} → {event.new}: {error}"
            return f"{text}  [{event.changed_by}: {event.reason}]"
        case FlowChanged():
            text = f"{event.flow}  {_state(event.old)} → {event.new}"
            return f"{text}  [{event.changed_by}: {event.reason}]"
        case DriftDetected():
            action = "correcting" if event.corrected else "not corrected (rule does not enforce)"
            return (
                f"{event.flow}  drift: is {event.actual}, rule {event.rule!r} wants"
                f" {event.desired}; {action}"
            )
        case PlannedChange():
            return f"{event.flow}  would change {_state(event.old)} → {event.new}  [{event.reason}]"
        case AccountFailed():
            return f"{account_message(event.account, event.error)}; its flows are left alone"
        case ConfigReloaded() | EngineFailed():
            return event.message
        case PassCompleted(changed=0, failed=0, drifted=0):
            return None
        case PassCompleted():
            return (
                f"{event.trigger} pass: {event.changed} changed, {event.failed} failed,"
                f" {event.drifted} drifted"
            )
        case RuleFired():
            return f"rule {event.rule!r}: {event.flows} flow(s) to change"
        case SchedulerState(status=SchedulerStatus.HELD):
            return None  # the command says it once, as its error
        case SchedulerState():
            text = f"scheduler {event.status}"
            if event.next_transition is not None:
                text += f"; next transition {_stamp(event.next_transition)}"
            return text
    return None


class LogPrinter:
    """Prints the bus's events on `stream`; subscribe before the engine starts."""

    def __init__(self, bus: EventBus, stream: TextIO, fmt: str = "human") -> None:
        self.bus = bus
        self.stream = stream
        self.fmt = fmt
        self.queue = bus.subscribe()

    def line(self, event: Event) -> str | None:
        if self.fmt == "json":
            return redact(as_json(event))
        text = as_text(event)
        at = getattr(event, "at", None)
        if text is None or at is None:
            return None
        return redact(f"{_stamp(at)}  {text}")

    def print(self, event: Event) -> None:
        line = self.line(event)
        if line is not None:
            print(line, file=self.stream, flush=True)

    def drain(self) -> None:
        """Print everything queued so far."""
        while not self.queue.empty():
            self.print(self.queue.get_nowait())

    async def run(self) -> None:
        """Print events as they come, until cancelled (then print what is left)."""
        try:
            while True:
                self.print(await self.queue.get())
        finally:
            self.drain()
