"""Crash recovery of open intents, config reload, overrides and pause, with a hand clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flowtui.engine.events import ConfigReloaded, EventBus
from flowtui.engine.reconcile import RECOVERY_REASON, Action
from flowtui.model import FlowRef, State
from flowtui.store import OverrideRecord, SqliteStore

from .conftest import T0, Flows, OpenEngine, converge_at
from .test_windows import window


async def test_an_intent_left_open_by_a_crash_is_re_verified_on_start(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine, state_dir: Path
) -> None:
    lost, applied = flows.pick("diga", 2, status="ENABLED", published=True)
    refs = [f"support:{lost}", f"support:{applied}"]
    write_config(window("db", refs, start=timedelta(0), end=timedelta(hours=1)))
    crashed = SqliteStore.in_dir(state_dir)  # the previous run wrote its intents, then died
    intents = {
        flow_id: crashed.record_intent(
            FlowRef("support", flow_id),
            old_status="enabled",
            new_status="disabled",
            changed_by="scheduler:db",
            reason="maintenance window 'db'",
            at=T0,
        )
        for flow_id in (lost, applied)
    }
    crashed.close()
    emu.set_flow("diga", applied, active=False)  # that change reached the platform

    await open_engine(T0 + timedelta(minutes=5))
    store = SqliteStore.in_dir(state_dir)
    try:
        assert store.open_intents() == []
        recovered = {r.intent_id: r for r in store.audit() if r.reason == RECOVERY_REASON}
        assert {i: (r.event_type, r.result) for i, r in recovered.items()} == {
            intents[lost]: ("outcome", "not_applied"),
            intents[applied]: ("outcome", "applied"),
        }
    finally:
        store.close()
    assert not flows.diga_on(lost)  # then converged as the window wants


async def test_a_broken_file_on_reload_keeps_the_old_rules(
    flows: Flows, write_config: Any, open_engine: OpenEngine, config_path: Path
) -> None:
    first, second = flows.pick("diga", 2, status="ENABLED", published=True)
    rule = window("one", [f"support:{first}"], start=timedelta(0), end=timedelta(hours=4))
    write_config(rule, resync="1h")
    bus = EventBus()
    events = bus.subscribe()
    engine = await open_engine(T0, bus)
    assert not flows.diga_on(first)

    write_config(rule + "\n[[maintenance]]\nname = \n", resync="1h")
    assert not await engine.reload()
    reloads = []
    while not events.empty():
        event = events.get_nowait()
        if isinstance(event, ConfigReloaded):
            reloads.append(event)
    assert [e.ok for e in reloads] == [False]
    assert "keeping the old rules" in reloads[0].message
    assert str(config_path) in reloads[0].message
    report = await converge_at(engine, T0 + timedelta(minutes=1))
    assert [o.flow.flow_id for o in report.outcomes] == [first]  # the old rule still governs

    write_config(
        window("two", [f"support:{second}"], start=timedelta(0), end=timedelta(hours=4)),
        resync="1h",
    )
    assert await engine.reload()
    assert not flows.diga_on(second)  # the new rule is converged at once


async def test_an_override_beats_the_rule_until_it_ends(
    flows: Flows, write_config: Any, open_engine: OpenEngine, store: SqliteStore
) -> None:
    pinned, skipped = flows.pick("diga", 2, status="ENABLED", published=True)
    refs = [f"support:{pinned}", f"support:{skipped}"]
    write_config(window("db", refs, start=timedelta(0), end=timedelta(hours=4), enforce="true"))
    until = T0 + timedelta(hours=1)
    store.set_override(OverrideRecord(FlowRef("support", pinned), "enabled", until, "cli:t", T0))
    store.set_override(OverrideRecord(FlowRef("support", skipped), "skip", until, "cli:t", T0))
    engine = await open_engine(T0)
    assert flows.diga_on(pinned)
    assert flows.diga_on(skipped)
    assert engine.next_transition == until
    assert engine.last_report is not None
    assert {o.flow.flow_id: o.rule for o in engine.last_report.outcomes} == {pinned: "override"}

    report = await converge_at(engine, until)
    assert {o.flow.flow_id: o.action for o in report.outcomes} == {
        pinned: Action.CHANGED,
        skipped: Action.CHANGED,
    }
    assert not flows.diga_on(pinned)
    assert not flows.diga_on(skipped)


async def test_dry_run_plans_and_changes_nothing(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(window("db", [f"support:{target}"], start=timedelta(0), end=timedelta(hours=1)))
    emu.clear_requests()
    engine = await open_engine(T0, dry_run=True)
    assert engine.last_report is not None
    [planned] = engine.last_report.outcomes
    assert (planned.action, planned.before, planned.desired) == (
        Action.WOULD_CHANGE,
        State.ENABLED,
        State.DISABLED,
    )
    assert flows.diga_on(target)
    assert flows.changes() == []
    store = SqliteStore.in_dir(state_dir)
    try:
        assert store.audit() == []
        assert store.prior_states("db") == {}
    finally:
        store.close()
