"""A pass cut off between planning and changing (the store refused its intent: a lost
lease, a database outage) leaves its transitions still to make — the next pass of the same
process changes the flow instead of taking the missed transition for drift."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from flowtui.engine.reconcile import Action
from flowtui.store import AuditRecord, SqliteStore, StoreError

from .conftest import T0, Flows, OpenEngine
from .test_windows import window


async def test_a_transition_cut_off_by_the_store_is_made_at_the_next_pass(
    flows: Flows,
    write_config: Any,
    open_engine: OpenEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (flow,) = flows.pick("diga", 1, status="ENABLED", published=True)
    write_config(window("db", [f"support:{flow}"], start=timedelta(0), end=timedelta(hours=1)))
    scheduler = await open_engine(T0 - timedelta(minutes=1))  # before the window: enabled
    record_events = SqliteStore.record_events

    def refused(self: SqliteStore, records: Sequence[AuditRecord]) -> list[int]:
        if any(record.event_type == "intent" for record in records):
            raise StoreError("state store: the database is restarting")
        return record_events(self, records)

    monkeypatch.setattr(SqliteStore, "record_events", refused)
    scheduler.clock.set(T0)  # type: ignore[attr-defined]
    with pytest.raises(StoreError):
        await scheduler.converge_now(trigger="transition")
    monkeypatch.undo()
    assert flows.diga_on(flow)
    scheduler.clock.set(T0 + timedelta(seconds=30))  # type: ignore[attr-defined]
    report = await scheduler.converge_now(trigger="resync")
    assert [o.action for o in report.outcomes] == [Action.CHANGED]
    assert not flows.diga_on(flow)
