"""What the store holds and promises: audit and override records, the `Store` contract
that both backends (SQLite, PostgreSQL) satisfy, and the errors a caller can meet."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from flowtui.model import FlowRef, State

SKIP = "skip"  # an override state meaning "don't touch this flow"
DEFAULT_RETENTION = timedelta(days=90)
PRUNE_EVERY = 500  # audit writes between two retention prunes (bounded work, not each write)
PRUNE_BATCH = 5_000  # rows one prune deletes at most
PRUNE_INTERVAL = timedelta(minutes=1)  # a write this long after the last prune prunes too


class StoreError(Exception):
    """The store cannot be opened or written (one line, no traceback for the user)."""


class SchemaMismatch(StoreError):
    """The store's schema is one this version does not know (newer) or not yet created."""


class Fenced(StoreError):
    """A scheduler intent refused because its leadership epoch is no longer current."""


@dataclass(frozen=True)
class AuditRecord:
    """One audit row. `event_type` is "intent" before a change and "outcome" after it
    (pointing at its intent with `intent_id`); other types record what needed no change
    request, e.g. "drift" or "recovery". `damaged` marks a row read back with text that was
    not valid UTF-8 or a time that did not parse (shown with U+FFFD in their place)."""

    event_type: str
    flow: FlowRef
    changed_by: str
    timestamp: datetime
    old_status: str | None = None
    new_status: str | None = None
    result: str | None = None
    error: str | None = None
    reason: str | None = None
    intent_id: int | None = None
    id: int | None = None
    damaged: bool = field(default=False, compare=False)

    def as_json(self) -> dict[str, object]:
        """The stable JSON form used by `flowtui audit --json`."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "intent_id": self.intent_id,
            "account": self.flow.account,
            "flow_id": self.flow.flow_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "changed_by": self.changed_by,
            "timestamp": self.timestamp.isoformat(),
            "result": self.result,
            "error": self.error,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class IntentOutcome:
    """What became of the change the intent row `intent_id` announced (see `record_outcome`)."""

    intent_id: int
    new_status: str | None
    result: str
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class OverrideRecord:
    """An operator's time-boxed pin: `state` is enabled, disabled or "skip"."""

    flow: FlowRef
    state: str
    until: datetime
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Fence:
    """The leadership a scheduler's intents are written under: an intent is recorded only
    while `scheduler`'s lease still carries `epoch` (checked in the same statement)."""

    scheduler: str
    epoch: int


class Store(Protocol):
    """What the engine, CLI and app need from persistent state (the store contract)."""

    fence: Fence | None

    def record_intent(
        self,
        flow: FlowRef,
        *,
        old_status: str | None,
        new_status: str,
        changed_by: str,
        reason: str,
        at: datetime,
    ) -> int: ...

    def record_outcome(
        self,
        intent_id: int,
        *,
        new_status: str | None,
        result: str,
        at: datetime,
        error: str | None = None,
    ) -> None: ...

    def record_event(self, record: AuditRecord) -> int: ...

    def record_events(self, records: Sequence[AuditRecord]) -> list[int]: ...

    def record_outcomes(self, outcomes: Sequence[IntentOutcome]) -> None: ...

    def open_intents(self) -> list[AuditRecord]: ...

    def audit(
        self,
        *,
        since: datetime | None = None,
        flow: FlowRef | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]: ...

    def prune_audit(self, before: datetime, *, batch: int = PRUNE_BATCH) -> int: ...

    def save_prior_states(
        self, rule: str, states: Mapping[FlowRef, State], *, at: datetime
    ) -> None: ...

    def prior_states(self, rule: str) -> dict[FlowRef, State]: ...

    def all_prior_states(self) -> dict[str, dict[FlowRef, State]]: ...

    def clear_prior_states(self, rule: str, flows: Iterable[FlowRef] | None = None) -> None: ...

    def desired_memory(self) -> dict[FlowRef, str]: ...

    def remember_desired(self, entries: Mapping[FlowRef, str], *, at: datetime) -> None: ...

    def set_override(self, override: OverrideRecord) -> None: ...

    def clear_override(self, flow: FlowRef) -> bool: ...

    def overrides(self, *, now: datetime) -> list[OverrideRecord]: ...

    def close(self) -> None: ...


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("store timestamps must be timezone-aware")
    return value.astimezone(UTC)


class AuditLog(ABC):
    """Intent and outcome rows in terms of `record_event`, shared by both backends."""

    @abstractmethod
    def record_event(self, record: AuditRecord) -> int: ...

    @abstractmethod
    def audit_row(self, row_id: int) -> AuditRecord | None: ...

    def record_intent(
        self,
        flow: FlowRef,
        *,
        old_status: str | None,
        new_status: str,
        changed_by: str,
        reason: str,
        at: datetime,
    ) -> int:
        intent = AuditRecord("intent", flow, changed_by, at, old_status, new_status, reason=reason)
        return self.record_event(intent)

    def record_outcome(
        self,
        intent_id: int,
        *,
        new_status: str | None,
        result: str,
        at: datetime,
        error: str | None = None,
    ) -> None:
        """The outcome row closing the intent `intent_id` (same flow, author, old status
        and reason)."""
        self.record_outcomes([IntentOutcome(intent_id, new_status, result, at, error)])

    def record_events(self, records: Sequence[AuditRecord]) -> list[int]:
        """Several rows, their ids in order (SQLite writes them in one transaction: all
        or none, and one disk write instead of one per row)."""
        return [self.record_event(record) for record in records]

    def audit_rows(self, row_ids: Iterable[int]) -> dict[int, AuditRecord]:
        """The rows with these ids that exist."""
        found = {row_id: self.audit_row(row_id) for row_id in row_ids}
        return {row_id: row for row_id, row in found.items() if row is not None}

    def record_outcomes(self, outcomes: Sequence[IntentOutcome]) -> None:
        """Outcome rows closing several intents (as `record_outcome`, written together).
        An outcome whose intent is not in the log is not written: StoreError names it,
        after the others are."""
        intents = self.audit_rows(outcome.intent_id for outcome in outcomes)
        records = []
        missing = []
        for outcome in outcomes:
            intent = intents.get(outcome.intent_id)
            if intent is None or intent.event_type != "intent":
                missing.append(str(outcome.intent_id))
                continue
            records.append(
                AuditRecord(
                    event_type="outcome",
                    flow=intent.flow,
                    changed_by=intent.changed_by,
                    timestamp=outcome.at,
                    old_status=intent.old_status,
                    new_status=outcome.new_status,
                    result=outcome.result,
                    error=outcome.error,
                    reason=intent.reason,
                    intent_id=outcome.intent_id,
                )
            )
        self.record_events(records)
        if missing:
            raise StoreError(f"no intent with id {', '.join(missing)} in the audit log")


class RetentionCounter:
    """Decides when a backend prunes: on the first audit write, then once every
    PRUNE_EVERY writes or on the first write a tenth of the retention (at most
    PRUNE_INTERVAL) after the last prune, deleting rows older than `retention` before the
    written record's time. The count bounds the work per write under bursts; the time keeps
    rows from outliving the retention when writes are few (a burst of changes followed by
    quiet resyncs would otherwise wait 500 writes)."""

    def __init__(self, retention: timedelta | None) -> None:
        self.retention = retention
        self.interval = None if retention is None else min(retention / 10, PRUNE_INTERVAL)
        self._writes = 0
        self._last: datetime | None = None

    def due(self, at: datetime) -> datetime | None:
        """The cutoff to prune before, when a prune is due after a write at `at`."""
        if self.retention is None or self.interval is None:
            return None
        self._writes += 1
        counted = self._writes % PRUNE_EVERY == 1
        if not counted and self._last is not None and at - self._last < self.interval:
            return None
        self._last = at
        return at - self.retention
