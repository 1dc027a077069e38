"""A/B switches in both orders, with a failure injected on the group being switched on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flowtui.engine.reconcile import Action
from flowtui.model import State
from flowtui.store import SqliteStore

from .conftest import T0, Flows, OpenEngine, converge_at


def switch_config(order: str, a: list[str], b: list[str]) -> str:
    return f"""
[[ab_switch]]
name = "checkout"
a = {a}
b = {b}
every = "1h"
start = {T0.isoformat()}
order = "{order}"
"""


@pytest.mark.parametrize("order", ["break-before-make", "make-before-break"])
async def test_a_failing_new_group_rolls_back_to_the_old_one(
    order: str,
    emu: Any,
    flows: Flows,
    write_config: Any,
    open_engine: OpenEngine,
    store: SqliteStore,
) -> None:
    old = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    stuck = flows.gassapi_member(is_active=0)
    fine = flows.pick("runflow", 1, status_code="inactive")[0]
    write_config(switch_config(order, [f"support:{old}"], [f"ops:{stuck}", f"studio:{fine}"]))
    engine = await open_engine(T0 + timedelta(minutes=10))  # group A's half: already so
    assert engine.last_report is not None
    assert {o.action for o in engine.last_report.outcomes} == {Action.ALREADY}

    emu.set_flow("gassapi", stuck, running=True)  # its toggle now answers 409
    report = await converge_at(engine, T0 + timedelta(hours=1))
    assert report.failed
    assert flows.diga_on(old)  # the old group serves again (or never stopped)
    assert flows.raw("gassapi")[stuck]["is_active"] == 0
    assert flows.raw("runflow")[fine]["status_code"] == "inactive"  # rolled back

    changes = [
        (r.event_type, r.flow.flow_id, r.new_status, r.result)
        for r in reversed(store.audit())
        if r.event_type in ("intent", "outcome")
    ]
    rollback = [r for r in store.audit() if (r.reason or "").startswith("rollback")]
    if order == "break-before-make":
        assert changes[:2] == [
            ("intent", old, "disabled", None),
            ("outcome", old, "disabled", "changed"),
        ]
        rolled_back = {old, fine}
    else:
        assert ("intent", old, "disabled", None) not in changes  # old group never touched
        rolled_back = {fine}
    assert {(r.flow.flow_id, r.event_type) for r in rollback} == {
        (flow_id, kind) for flow_id in rolled_back for kind in ("intent", "outcome")
    }
    assert all(r.result in (None, "changed") for r in rollback)
    assert [c[3] for c in changes if c[:2] == ("outcome", stuck)] == ["failed"]

    emu.set_flow("gassapi", stuck, running=False)  # transient: the next resync completes it
    retried = await converge_at(engine, T0 + timedelta(hours=1, minutes=1))
    assert not retried.failed
    assert not flows.diga_on(old)
    assert flows.raw("gassapi")[stuck]["is_active"] == 1
    assert flows.raw("runflow")[fine]["status_code"] == "active"


async def test_a_permanent_failure_rolls_back_once_then_holds_the_switch(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    old = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    draft = flows.pick("diga", 1, published=False)[0]  # enabling it can never work
    write_config(switch_config("break-before-make", [f"support:{old}"], [f"support:{draft}"]))
    engine = await open_engine(T0 + timedelta(minutes=10))
    first = await converge_at(engine, T0 + timedelta(hours=1))
    outcomes = {o.flow.flow_id: o for o in first.outcomes}
    assert outcomes[draft].permanent
    assert "not published" in (outcomes[draft].error or "")
    assert (outcomes[old].action, outcomes[old].after) == (Action.FAILED, State.ENABLED)
    assert flows.diga_on(old)

    emu.clear_requests()
    held = await converge_at(engine, T0 + timedelta(hours=1, minutes=1))
    assert held.failed
    assert {o.flow.flow_id: o.action for o in held.outcomes} == {
        old: Action.FAILED,
        draft: Action.FAILED,
    }
    assert flows.changes() == []  # left alone, not flapped on every resync
    assert flows.diga_on(old)
