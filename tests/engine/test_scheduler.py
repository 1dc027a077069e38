"""The Scheduler around the passes: a broken account, a gap in time, pause and resume."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.engine import daemon
from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import (
    AccountFailed,
    ConfigReloaded,
    EventBus,
    FlowChanged,
    PassCompleted,
    SchedulerState,
)
from flowtui.engine.lock import LockHeld
from flowtui.engine.reconcile import Action
from flowtui.model import FlowRef
from flowtui.store import OverrideRecord, SqliteStore

from .conftest import FAST, T0, Flows, OpenEngine, converge_at, secrets_env
from .test_windows import window


async def test_an_account_that_cannot_be_built_blocks_no_other(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    other = flows.gassapi_member(is_active=1)
    refs = [f"support:{target}", f"ops:{other}"]
    write_config(window("db", refs, start=timedelta(0), end=timedelta(hours=1)))
    env = {k: v for k, v in secrets_env(emu).items() if not k.startswith("FT_GASS")}
    bus = EventBus()
    events = bus.subscribe()
    engine = Scheduler(config_path, state_dir, bus, ManualClock(T0), env=env, retry=FAST)
    try:
        report = await engine.open()
    finally:
        await engine.close()
    assert report.failed
    assert "FT_GASS is not set" in report.account_errors["ops"]
    assert {o.flow.flow_id: o.action for o in report.outcomes} == {
        target: Action.CHANGED,
        other: Action.FAILED,
    }
    assert not flows.diga_on(target)
    assert flows.raw("gassapi")[other]["is_active"] == 1
    failed = [e for e in _drain(events) if isinstance(e, AccountFailed)]
    assert [e.account for e in failed] == ["ops"]


async def test_after_a_gap_or_a_restart_missed_transitions_are_made_and_drift_stays(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    """SPEC §3: after downtime only desired states that changed are converged; a hand
    change under a rule that does not enforce survives until the rule's next transition."""
    held, late = flows.pick("diga", 2, status="ENABLED", published=True)
    write_config(
        window("db", [f"support:{held}"], start=timedelta(0), end=timedelta(days=1))
        + window("late", [f"support:{late}"], start=timedelta(minutes=5), end=timedelta(days=1)),
        resync="1m",
    )
    engine = await open_engine(T0)
    assert not flows.diga_on(held)
    emu.set_flow("diga", held, active=True)  # by hand
    within = await converge_at(engine, T0 + timedelta(minutes=1))
    assert [o.action for o in within.outcomes] == [Action.DRIFT]  # not enforced: reported
    after_sleep = await converge_at(engine, T0 + timedelta(minutes=10))
    actions = {o.flow.flow_id: o.action for o in after_sleep.outcomes}
    assert actions == {held: Action.DRIFT, late: Action.CHANGED}  # `late` opened in the gap
    assert flows.diga_on(held)
    assert not flows.diga_on(late)
    await engine.close()

    restarted = await open_engine(T0 + timedelta(hours=1))
    assert {o.flow.flow_id: o.action for o in restarted.last_report.outcomes} == {
        held: Action.DRIFT,
        late: Action.ALREADY,
    }
    assert flows.diga_on(held)  # the hand change survives the restart, as promised


async def test_pause_stops_acting_and_resume_makes_missed_transitions_only(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    held, late = flows.pick("diga", 2, status="ENABLED", published=True)
    now = datetime.now(UTC)  # APScheduler runs on real time: keep its transitions ahead
    day, hour = timedelta(days=1), timedelta(hours=1)
    write_config(
        window("db", [f"support:{held}"], start=-day, end=day, origin=now)
        + window("late", [f"support:{late}"], start=hour, end=day, origin=now)
    )
    bus = EventBus()
    events = bus.subscribe()
    clock = ManualClock(now)
    engine = Scheduler(config_path, state_dir, bus, clock, env=secrets_env(emu), retry=FAST)
    await engine.start()
    try:
        assert engine.status == "running"
        assert not flows.diga_on(held)
        engine.pause()
        assert engine.status == "paused"
        emu.set_flow("diga", held, active=True)  # a hand change while paused
        assert await engine.wake("resync") is None  # what APScheduler calls: nothing if paused
        assert flows.diga_on(held)
        clock.advance(2 * hour)  # `late` opened while paused
        _drain(events)
        engine.resume()
        while (await _next_pass(events)).trigger != "resume":
            pass
        assert not flows.diga_on(late)  # the missed transition is made at once
        assert flows.diga_on(held)  # the hand change stays (the rule does not enforce)
    finally:
        await engine.stop()
    assert engine.status == "stopped"
    states = [e.status for e in _drain(events) if isinstance(e, SchedulerState)]
    assert states[-1] == "stopped"


def open_now(name: str, ref: str) -> str:
    """A window open from a minute ago (real time) for an hour."""
    now = datetime.now(UTC)
    return f"""
[[maintenance]]
name = "{name}"
flows = ["{ref}"]
start = {(now - timedelta(minutes=1)).isoformat()}
end = {(now + timedelta(hours=1)).isoformat()}
"""


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    found = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found


async def _woken(engine: Scheduler, trigger: str) -> None:
    task = await engine.wake(trigger)
    assert task is not None
    await task


async def _next_pass(queue: asyncio.Queue[Any]) -> PassCompleted:
    async with asyncio.timeout(10):
        while not isinstance(event := await queue.get(), PassCompleted):
            pass
        return event


async def test_a_changed_file_is_reloaded_at_the_next_resync(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    first, second = flows.pick("diga", 2, status="ENABLED", published=True)
    write_config(window("one", [f"support:{first}"], start=timedelta(0), end=timedelta(days=1)))
    bus = EventBus()
    events = bus.subscribe()
    engine = await open_engine(T0, bus)
    write_config(window("two", [f"support:{second}"], start=timedelta(0), end=timedelta(days=1)))
    await _woken(engine, "resync")  # what APScheduler calls every settings.resync
    reloads = [e for e in _drain(events) if isinstance(e, ConfigReloaded)]
    assert [e.ok for e in reloads] == [True]
    assert not flows.diga_on(second)


async def test_stop_lets_the_pass_in_flight_verify_and_write_its_outcomes(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    targets = flows.pick("diga", 3, status="ENABLED", published=True)
    refs = [f"support:{i}" for i in targets]
    now, hour = datetime.now(UTC), timedelta(hours=1)  # APScheduler runs on real time
    write_config(window("db", refs, start=hour, end=2 * hour, origin=now))
    bus = EventBus()
    events = bus.subscribe()
    clock = ManualClock(now)
    engine = Scheduler(config_path, state_dir, bus, clock, env=secrets_env(emu), retry=FAST)
    await engine.start()
    emu.set_fault("diga", latency_ms=200)
    clock.set(now + hour)
    in_flight = asyncio.create_task(engine.converge_now(trigger="transition"))
    async with asyncio.timeout(10):  # wait until the changes are on their way
        while not (isinstance(e := await events.get(), FlowChanged) and e.new == "pending"):
            pass
    await engine.stop()
    report = await in_flight
    assert {o.action for o in report.outcomes} == {Action.CHANGED}
    assert not any(flows.diga_on(i) for i in targets)
    store = SqliteStore.in_dir(state_dir)
    try:
        assert store.open_intents() == []
        assert len([r for r in store.audit() if r.event_type == "outcome"]) == len(targets)
    finally:
        store.close()


async def test_a_transition_pass_reads_and_changes_only_the_flows_it_concerns(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    *others, due = flows.pick("diga", 4, status="ENABLED", published=True)
    write_config(
        window("big", [f"support:{i}" for i in others], start=timedelta(0), end=timedelta(hours=1))
        + window("small", [f"support:{due}"], start=timedelta(hours=2), end=timedelta(hours=3))
    )
    engine = await open_engine(T0 + timedelta(minutes=90))  # "big" is over: restored
    assert engine.next_transition == T0 + timedelta(hours=2)
    emu.clear_requests()
    report = await engine.converge_now(T0 + timedelta(hours=2), trigger="transition")
    assert [(o.flow.flow_id, o.action) for o in report.outcomes] == [(due, Action.CHANGED)]
    assert any(due in r["path"] for r in emu.requests())
    assert all(other not in r["path"] for r in emu.requests() for other in others)


async def test_an_unusable_account_that_no_rule_governs_fails_nothing(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(window("db", [f"support:{target}"], start=timedelta(0), end=timedelta(hours=1)))
    env = {k: v for k, v in secrets_env(emu).items() if k != "FT_B24"}
    engine = Scheduler(config_path, state_dir, None, ManualClock(T0), env=env, retry=FAST)
    try:
        report = await engine.open()
    finally:
        await engine.close()
    assert not report.failed
    assert report.account_errors == {}


async def test_a_second_scheduler_on_the_same_state_directory_is_held(
    emu: Any, write_config: Any, open_engine: OpenEngine, config_path: Path, state_dir: Path
) -> None:
    write_config("")
    await open_engine(T0)
    bus = EventBus()
    events = bus.subscribe()
    second = Scheduler(config_path, state_dir, bus, ManualClock(T0), env=secrets_env(emu))
    with pytest.raises(LockHeld):
        await second.open()
    assert second.status == "held"
    assert second.holder_pid == os.getpid()
    [state] = _drain(events)
    assert (state.status, state.holder_pid) == ("held", os.getpid())


async def test_a_transient_failure_is_retried_soon_without_waiting_for_the_resync(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    target = flows.pick("runflow", 1, status_code="active")[0]
    write_config(open_now("db", f"studio:{target}"))  # a real clock: APScheduler runs it
    emu.set_fault("runflow", error_rate=1.0)
    bus = EventBus()
    events = bus.subscribe()
    engine = Scheduler(
        config_path,
        state_dir,
        bus,
        env=secrets_env(emu),
        retry=FAST,
        first_retry=timedelta(milliseconds=300),
    )
    report = await engine.start()
    try:
        assert report.failed
        _drain(events)
        emu.set_fault("runflow", error_rate=0.0)
        retried = await _next_pass(events)
        assert (retried.trigger, retried.changed) == ("retry", 1)
        assert flows.raw("runflow")[target]["status_code"] == "inactive"
    finally:
        await engine.stop()


async def test_an_override_from_another_process_acts_within_seconds(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(open_now("db", f"support:{target}"))
    bus = EventBus()
    events = bus.subscribe()
    engine = Scheduler(config_path, state_dir, bus, env=secrets_env(emu), retry=FAST)
    await engine.start()
    try:
        assert not flows.diga_on(target)
        _drain(events)
        cli = SqliteStore.in_dir(state_dir)  # what `flowtui override` writes
        now = datetime.now(UTC)
        flow = FlowRef("support", target)
        cli.set_override(OverrideRecord(flow, "enabled", now + timedelta(hours=1), "cli:t", now))
        cli.close()
        acted = await _next_pass(events)
        assert (acted.trigger, acted.changed) == ("override", 1)
        assert flows.diga_on(target)
    finally:
        await engine.stop()


async def test_override_polls_during_a_long_pass_queue_no_pass(
    emu: Any,
    flows: Flows,
    write_config: Any,
    config_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No override is set: polls while a slow start pass runs must not each ask for an
    "override" pass (at 6,000 flows a start pass takes minutes, one poll every 2 s)."""
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(open_now("db", f"support:{target}"))
    monkeypatch.setattr(daemon, "OVERRIDE_POLL", timedelta(milliseconds=20))
    emu.set_fault("diga", latency_ms=300)  # the start pass spans many polls
    bus = EventBus()
    events = bus.subscribe()
    engine = Scheduler(config_path, state_dir, bus, env=secrets_env(emu), retry=FAST)
    await engine.start()
    try:
        emu.set_fault("diga", latency_ms=0)
        await engine.converge_now(trigger="manual")
        for _ in range(20):  # let passes that shared the manual one's lane publish
            await asyncio.sleep(0)
        triggers = [e.trigger for e in _drain(events) if isinstance(e, PassCompleted)]
        assert triggers == ["start", "manual"]
    finally:
        await engine.stop()


async def test_a_reload_while_paused_waits_for_resume(
    flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config("")
    engine = await open_engine(T0)
    engine.pause()
    write_config(window("db", [f"support:{target}"], start=timedelta(0), end=timedelta(days=1)))
    assert await engine.reload()
    assert flows.diga_on(target)  # paused: the new rule waits
    assert engine.next_transition == T0 + timedelta(days=1)
    engine.resume()
    await engine.converge_now(trigger="resume")  # what the resume job runs
    assert not flows.diga_on(target)
