"""Maintenance windows against the emulator: start, restore, drift, enforce, restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import DriftDetected, EventBus, FlowChanged, State
from flowtui.engine.reconcile import Action
from flowtui.model import FlowRef
from flowtui.store import SqliteStore

from .conftest import FAST, T0, Flows, OpenEngine, converge_at, secrets_env


def window(
    name: str,
    refs: list[str],
    *,
    start: timedelta,
    end: timedelta,
    origin: datetime = T0,
    **extra: Any,
) -> str:
    """A one-off maintenance window from `origin + start` to `origin + end`."""
    options = "".join(f"{key} = {value}\n" for key, value in extra.items())
    return f"""
[[maintenance]]
name = "{name}"
flows = {refs}
start = {(origin + start).isoformat()}
end = {(origin + end).isoformat()}
{options}"""


async def test_window_disables_then_restores_each_flow_and_touches_nothing_else(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine, store: SqliteStore
) -> None:
    on = sorted(flows.pick("diga", 2, status="ENABLED", published=True))
    off = flows.pick("diga", 1, status="DISABLED", published=True)
    bystander = flows.pick("diga", 3, status="ENABLED", published=True)[2]
    refs = [f"support:{i}" for i in [*on, *off]]
    write_config(window("db", refs, start=timedelta(hours=1), end=timedelta(hours=2)))

    bus = EventBus()
    events = bus.subscribe()
    engine = await open_engine(T0, bus)  # before the window: nothing is governed
    assert engine.last_report is not None
    assert engine.last_report.outcomes == []
    emu.clear_requests()

    started = await converge_at(engine, T0 + timedelta(hours=1))
    assert {o.flow.flow_id: o.action for o in started.outcomes} == {
        on[0]: Action.CHANGED,
        on[1]: Action.CHANGED,
        off[0]: Action.ALREADY,
    }
    assert not any(flows.diga_on(i) for i in [*on, *off])
    assert flows.diga_on(bystander)
    assert store.prior_states("db") == {
        FlowRef("support", on[0]): State.ENABLED,
        FlowRef("support", on[1]): State.ENABLED,
        FlowRef("support", off[0]): State.DISABLED,
    }
    assert all(bystander not in r["path"] for r in emu.requests())

    inside = await converge_at(engine, T0 + timedelta(hours=1, minutes=30))
    assert {o.action for o in inside.outcomes} == {Action.ALREADY}

    ended = await converge_at(engine, T0 + timedelta(hours=2))
    assert {o.flow.flow_id: o.action for o in ended.outcomes} == {
        on[0]: Action.CHANGED,
        on[1]: Action.CHANGED,
        off[0]: Action.ALREADY,
    }
    assert [flows.diga_on(i) for i in [*on, *off]] == [True, True, False]
    assert store.prior_states("db") == {}
    after = await converge_at(engine, T0 + timedelta(hours=3))
    assert after.outcomes == []  # restored: no rule governs them any more

    rows = [
        (r.event_type, r.flow.flow_id, r.old_status, r.new_status, r.result, r.changed_by)
        for r in reversed(store.audit())
    ]
    assert rows == [
        ("intent", on[0], "enabled", "disabled", None, "scheduler:db"),
        ("intent", on[1], "enabled", "disabled", None, "scheduler:db"),
        ("outcome", on[0], "enabled", "disabled", "changed", "scheduler:db"),
        ("outcome", on[1], "enabled", "disabled", "changed", "scheduler:db"),
        ("intent", on[0], "disabled", "enabled", None, "scheduler:db"),
        ("intent", on[1], "disabled", "enabled", None, "scheduler:db"),
        ("outcome", on[0], "disabled", "enabled", "changed", "scheduler:db"),
        ("outcome", on[1], "disabled", "enabled", "changed", "scheduler:db"),
    ]
    assert store.audit()[0].reason == "after maintenance window 'db': restore"
    seen = []
    while not events.empty():
        seen.append(events.get_nowait())
    verified = [e for e in seen if isinstance(e, FlowChanged) and e.new is not State.PENDING]
    assert [(e.flow.flow_id, e.new) for e in verified] == [
        (on[0], State.DISABLED),
        (on[1], State.DISABLED),
        (on[0], State.ENABLED),
        (on[1], State.ENABLED),
    ]


async def test_enforce_reapplies_after_a_manual_change_and_unenforced_only_reports(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine, store: SqliteStore
) -> None:
    strict, lax = flows.pick("diga", 2, status="ENABLED", published=True)
    write_config(
        window(
            "strict",
            [f"support:{strict}"],
            start=timedelta(0),
            end=timedelta(hours=4),
            enforce="true",
        )
        + window("lax", [f"support:{lax}"], start=timedelta(0), end=timedelta(hours=4))
    )
    bus = EventBus()
    events = bus.subscribe()
    engine = await open_engine(T0 + timedelta(minutes=1), bus)
    assert not flows.diga_on(strict)
    assert not flows.diga_on(lax)

    for flow_id in (strict, lax):  # someone else switches both back on
        emu.set_flow("diga", flow_id, active=True)
    report = await converge_at(engine, T0 + timedelta(minutes=2))
    actions = {o.flow.flow_id: (o.action, o.reason) for o in report.outcomes}
    assert actions[strict] == (Action.CHANGED, "drift (maintenance window 'strict')")
    assert actions[lax] == (Action.DRIFT, "drift")
    assert not flows.diga_on(strict)
    assert flows.diga_on(lax)

    again = await converge_at(engine, T0 + timedelta(minutes=3))
    assert {o.flow.flow_id: o.action for o in again.outcomes} == {
        strict: Action.ALREADY,
        lax: Action.DRIFT,
    }
    drift = [(r.flow.flow_id, r.result) for r in store.audit() if r.event_type == "drift"]
    assert sorted(drift) == sorted([(strict, "corrected"), (lax, "reported")])  # once each
    seen = []
    while not events.empty():
        seen.append(events.get_nowait())
    assert sorted(
        (e.flow.flow_id, e.corrected) for e in seen if isinstance(e, DriftDetected)
    ) == sorted([(strict, True), (lax, False)])


async def test_restart_mid_window_keeps_prior_states_and_replays_nothing(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine, store: SqliteStore
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    a_flow = flows.pick("diga", 2, status="ENABLED", published=True)[1]
    b_flow = flows.pick("runflow", 1, status_code="inactive")[0]
    write_config(
        window("db", [f"support:{target}"], start=timedelta(hours=1), end=timedelta(hours=3))
        + f"""
[[ab_switch]]
name = "flip"
a = ["support:{a_flow}"]
b = ["studio:{b_flow}"]
every = "10m"
start = {T0.isoformat()}
"""
    )
    first = await open_engine(T0 + timedelta(hours=1, minutes=5))
    assert not flows.diga_on(target)
    assert store.prior_states("db") == {FlowRef("support", target): State.ENABLED}
    await first.close()

    emu.clear_requests()
    # Down for an hour: six A/B transitions are missed. Now (2h05, in A's half of the
    # alternation and still inside the window) everything already is as desired.
    second = await open_engine(T0 + timedelta(hours=2, minutes=5))
    assert second.last_report is not None
    assert {o.action for o in second.last_report.outcomes} == {Action.ALREADY}
    assert flows.changes() == []
    assert store.prior_states("db") == {FlowRef("support", target): State.ENABLED}

    await converge_at(second, T0 + timedelta(hours=3))
    assert flows.diga_on(target)


async def test_overlapping_windows_restore_the_state_before_the_first(
    flows: Flows, write_config: Any, open_engine: OpenEngine, store: SqliteStore
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    ref = [f"support:{target}"]
    hour = timedelta(hours=1)
    write_config(
        window("first", ref, start=hour, end=3 * hour)
        + window("second", ref, start=2 * hour, end=4 * hour)
    )
    engine = await open_engine(T0)
    for step in range(1, 4):
        await converge_at(engine, T0 + step * hour)
        assert not flows.diga_on(target)
    restored = await converge_at(engine, T0 + 4 * hour)
    assert [(o.rule, o.action) for o in restored.outcomes] == [("first", Action.CHANGED)]
    assert flows.diga_on(target)
    assert store.all_prior_states() == {}
    later = await converge_at(engine, T0 + 5 * hour)
    assert later.outcomes == []  # nothing left to restore to the second window's record
    assert flows.diga_on(target)


class CrawlingClock(ManualClock):
    """Each reading is 20 s after the one before: a pass that outlives its rules' answer
    (10,000 flows on a slow store, say)."""

    def now(self) -> datetime:
        return self.advance(timedelta(seconds=20))


async def test_a_pass_longer_than_its_answer_still_sends_what_is_still_wanted(
    emu: Any, flows: Flows, write_config: Any, config_path: Path, state_dir: Path
) -> None:
    on = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(window("db", [f"support:{on}"], start=-timedelta(days=1), end=timedelta(days=1)))
    engine = Scheduler(
        config_path, state_dir, None, CrawlingClock(T0), env=secrets_env(emu), retry=FAST
    )
    try:
        report = await engine.open()
    finally:
        await engine.close()
    assert [o.action for o in report.outcomes] == [Action.CHANGED]  # not "superseded"
    assert not flows.diga_on(on)
