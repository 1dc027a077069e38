"""The engine across platforms: `account:*` listings, Bitrix24's configured ids, and a
transient outage retried at the next resync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flowtui.engine.reconcile import Action

from .conftest import T0, Flows, OpenEngine, converge_at
from .test_windows import window


async def test_a_wildcard_window_covers_every_listed_flow_and_a_bitrix24_flow(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    bitrix = next(i for i, f in flows.raw("bitrix24").items() if f["active"])
    write_config(
        window(
            "all", ["studio:*", f"crm:{bitrix}"], start=timedelta(hours=1), end=timedelta(hours=2)
        )
    )
    before = {i: f["status_code"] for i, f in flows.raw("runflow").items()}
    engine = await open_engine(T0)
    emu.clear_requests()
    started = await engine.converge_now(T0 + timedelta(hours=1), trigger="transition")
    settable = {i for i, code in before.items() if code in ("active", "inactive")}
    assert {o.flow.flow_id for o in started.outcomes} == set(before) | {bitrix}
    unsettable = {o.flow.flow_id for o in started.outcomes if o.failed}
    assert unsettable == set(before) - settable  # e.g. "archived": reported, left alone
    assert all(o.permanent for o in started.outcomes if o.failed)
    assert {f["status_code"] for i, f in flows.raw("runflow").items() if i in settable} == {
        "inactive"
    }
    assert flows.raw("bitrix24")[bitrix]["active"] is False
    listed = [r for r in emu.requests("runflow") if "flow-summaries" in r["path"]]
    assert listed == []  # a transition pass reuses the listing of the last full pass

    ended = await converge_at(engine, T0 + timedelta(hours=2))
    assert not ended.failed  # their states were not recorded, so they are not restored
    after = {i: f["status_code"] for i, f in flows.raw("runflow").items()}
    assert after == before  # every flow restored, the unsettable ones never touched
    assert flows.raw("bitrix24")[bitrix]["active"] is True


async def test_a_transient_outage_is_retried_at_the_next_resync(
    emu: Any, flows: Flows, write_config: Any, open_engine: OpenEngine
) -> None:
    target = flows.pick("runflow", 1, status_code="active")[0]
    hour = timedelta(hours=1)
    write_config(window("db", [f"studio:{target}"], start=hour, end=2 * hour))
    engine = await open_engine(T0)
    emu.set_fault("runflow", error_rate=1.0)
    failed = await converge_at(engine, T0 + timedelta(hours=1))
    [outcome] = failed.outcomes
    assert outcome.action is Action.FAILED
    assert not outcome.permanent
    emu.set_fault("runflow", error_rate=0.0)
    retried = await converge_at(engine, T0 + timedelta(hours=1, minutes=1))
    assert [o.action for o in retried.outcomes] == [Action.CHANGED]
    assert flows.raw("runflow")[target]["status_code"] == "inactive"
