import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowtui.model import FlowRef, State
from flowtui.store import (
    SKIP,
    AuditRecord,
    IntentOutcome,
    OverrideRecord,
    SqliteStore,
    Store,
    StoreError,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLOW = FlowRef("support", "wf_1")


def test_intent_then_outcome_closes_the_intent(store: Store) -> None:
    intent = store.record_intent(
        FLOW,
        old_status="enabled",
        new_status="disabled",
        changed_by="cli:ops",
        reason="manual",
        at=T0,
    )
    assert [r.id for r in store.open_intents()] == [intent]
    store.record_outcome(intent, new_status="disabled", result="changed", at=T0)
    assert store.open_intents() == []
    outcome, first = store.audit()
    assert (first.event_type, outcome.event_type) == ("intent", "outcome")
    assert outcome.intent_id == intent
    assert (outcome.old_status, outcome.new_status, outcome.result) == (
        "enabled",
        "disabled",
        "changed",
    )
    assert outcome.changed_by.partition("@")[0] == "cli:ops"  # team mode adds @host
    assert outcome.reason == "manual"


def test_outcome_for_a_missing_intent_is_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no intent with id 42"):
        store.record_outcome(42, new_status=None, result="failed", at=T0)


def test_intents_and_outcomes_written_together(store: Store) -> None:
    flows = [FlowRef("crm", str(n)) for n in range(3)]
    intents = store.record_events(
        [
            AuditRecord("intent", flow, "cli:ops", T0, "enabled", "disabled", reason="manual")
            for flow in flows
        ]
    )
    assert sorted(r.id for r in store.open_intents()) == sorted(intents)
    closing = [IntentOutcome(i, "disabled", "changed", T0 + timedelta(seconds=1)) for i in intents]
    with pytest.raises(StoreError, match="no intent with id 4242"):
        store.record_outcomes([*closing[:2], IntentOutcome(4242, None, "failed", T0), closing[2]])
    assert store.open_intents() == []  # the outcomes of known intents were written
    outcomes = [r for r in store.audit() if r.event_type == "outcome"]
    expected = zip([flow.flow_id for flow in flows], intents, strict=True)
    assert sorted((r.flow.flow_id, r.intent_id, r.old_status, r.new_status) for r in outcomes) == [
        (flow_id, intent, "enabled", "disabled") for flow_id, intent in expected
    ]
    assert {(r.reason, r.result, r.timestamp) for r in outcomes} == {
        ("manual", "changed", T0 + timedelta(seconds=1))
    }


def test_audit_filters_by_time_and_flow_newest_first(store: Store) -> None:
    other = FlowRef("crm", "517")
    for minutes, flow in [(0, FLOW), (10, other), (20, FLOW)]:
        store.record_intent(
            flow,
            old_status=None,
            new_status="enabled",
            changed_by="cli:x",
            reason="r",
            at=T0 + timedelta(minutes=minutes),
        )
    assert [r.timestamp for r in store.audit(flow=FLOW)] == [
        T0 + timedelta(minutes=20),
        T0,
    ]
    recent = store.audit(since=T0 + timedelta(minutes=5))
    assert [r.flow for r in recent] == [FLOW, other]
    assert len(store.audit(limit=1)) == 1


def test_timestamps_are_stored_in_utc_whatever_zone_they_came_in(store: Store) -> None:
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    store.record_intent(
        FLOW, old_status=None, new_status="enabled", changed_by="t", reason="r", at=berlin
    )
    (record,) = store.audit(since=T0 - timedelta(seconds=1))
    assert record.timestamp == T0
    assert record.timestamp.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_intent(
            FLOW,
            old_status=None,
            new_status="enabled",
            changed_by="t",
            reason="r",
            at=datetime(2026, 1, 1),
        )


def test_prior_states_keep_the_first_record_of_a_window(store: Store) -> None:
    store.save_prior_states("sunday", {FLOW: State.ENABLED}, at=T0)
    # A restart inside the window reads the window's own state: it must not overwrite.
    store.save_prior_states("sunday", {FLOW: State.DISABLED}, at=T0 + timedelta(hours=1))
    assert store.prior_states("sunday") == {FLOW: State.ENABLED}
    assert store.prior_states("other") == {}
    store.clear_prior_states("sunday", [FLOW])
    assert store.prior_states("sunday") == {}


def test_all_prior_states_groups_every_record_by_rule(store: Store) -> None:
    other = FlowRef("crm", "517")
    store.save_prior_states("sunday", {FLOW: State.ENABLED, other: State.DISABLED}, at=T0)
    store.save_prior_states("nightly", {FLOW: State.DISABLED}, at=T0)
    assert store.all_prior_states() == {
        "sunday": {FLOW: State.ENABLED, other: State.DISABLED},
        "nightly": {FLOW: State.DISABLED},
    }
    store.clear_prior_states("nightly")
    assert set(store.all_prior_states()) == {"sunday"}


def test_overrides_end_and_can_be_cleared(store: Store) -> None:
    pin = OverrideRecord(
        FLOW, SKIP, until=T0 + timedelta(hours=2), created_by="cli:ops", created_at=T0
    )
    store.set_override(pin)
    (found,) = store.overrides(now=T0)
    assert (found.flow, found.state, found.until, found.created_at) == (FLOW, SKIP, pin.until, T0)
    assert found.created_by.startswith("cli:ops")  # team mode adds @host
    assert store.overrides(now=T0 + timedelta(hours=2)) == []
    assert store.clear_override(FLOW) is True
    assert store.clear_override(FLOW) is False
    assert store.overrides(now=T0) == []


def _write_intent_and_die(path: str) -> None:
    store = SqliteStore(Path(path))
    store.record_intent(
        FLOW, old_status="enabled", new_status="disabled", changed_by="t", reason="r", at=T0
    )
    os.kill(os.getpid(), signal.SIGKILL)


def test_an_intent_survives_kill_9_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    SqliteStore(path).close()
    writer = multiprocessing.get_context("spawn").Process(
        target=_write_intent_and_die, args=(str(path),)
    )
    writer.start()
    writer.join()
    assert writer.exitcode == -signal.SIGKILL
    reopened = SqliteStore(path)
    (intent,) = reopened.open_intents()
    assert (intent.flow, intent.new_status) == (FLOW, "disabled")
    reopened.close()


def test_an_unopenable_store_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the state directory"):
        SqliteStore.in_dir(blocker / "sub")


def test_desired_memory_keeps_the_latest_key_per_flow(store: Store) -> None:
    other = FlowRef("crm", "517")
    assert store.desired_memory() == {}
    store.remember_desired({FLOW: "disabled|w1", other: "enabled|ab"}, at=T0)
    store.remember_desired({FLOW: "enabled|-"}, at=T0 + timedelta(hours=1))
    store.remember_desired({}, at=T0)
    assert store.desired_memory() == {FLOW: "enabled|-", other: "enabled|ab"}
