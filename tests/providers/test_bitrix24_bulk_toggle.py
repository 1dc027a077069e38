"""Bitrix24: many toggles go in batches of ≤50, and a lost batch answer is re-read, not
re-sent (a thousand single activates at 2 req/s would take over eight minutes)."""

from __future__ import annotations

from typing import Any

from flowtui.model import State
from flowtui.providers.base import Outcome

FLOWS = 60  # more than a batch holds: two activate batches of 50 and 10


def opposite(emu: Any) -> dict[str, State]:
    return {
        str(flow["id"]): State.DISABLED if flow["active"] else State.ENABLED
        for flow in emu.state("bitrix24")["flows"]
    }


def settled(emu: Any, desired: dict[str, State]) -> bool:
    actual = {str(flow["id"]): flow["active"] for flow in emu.state("bitrix24")["flows"]}
    return all(actual[i] is (state is State.ENABLED) for i, state in desired.items())


def paths(emu: Any) -> list[str]:
    return [entry["path"].rsplit("/", 1)[-1] for entry in emu.requests("bitrix24")]


async def test_many_toggles_are_batched(emu: Any, connect: Any) -> None:
    emu.reset(flows=FLOWS, seed=1)
    desired = opposite(emu)
    results = await connect("crm").set_states(desired)
    assert {r.outcome for r in results} == {Outcome.CHANGED}
    assert settled(emu, desired)
    # read 2 batches, toggle 2 batches, verify 2 batches; no single activate
    assert paths(emu) == ["batch"] * 6


async def test_lost_batch_answer_is_reread_not_resent(emu: Any, connect: Any) -> None:
    emu.reset(flows=FLOWS, seed=1)
    desired = opposite(emu)
    emu.set_fault("bitrix24", drop_after_apply=1)
    results = await connect("crm").set_states(desired)
    assert {r.outcome for r in results} == {Outcome.CHANGED}, [r.reason for r in results]
    assert settled(emu, desired)  # every flow toggled exactly once
    log = emu.requests("bitrix24")
    assert [entry["dropped"] for entry in log].count(True) == 1
    assert len(log) == 6
