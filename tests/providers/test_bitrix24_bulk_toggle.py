"""Bitrix24: many toggles go in batches, each `activate` followed in its batch by the `get`
that verifies it, and a lost batch answer is re-read, not re-sent (a thousand single
activates at 2 req/s would take over eight minutes)."""

from __future__ import annotations

from typing import Any

from flowtui.model import State
from flowtui.providers.base import Outcome

FLOWS = 60  # more than a batch holds: three batches of 25, 25 and 10 toggles with their reads


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
    # read 2 batches, then 3 batches of toggles with their verifying reads; nothing else
    assert paths(emu) == ["batch"] * 5
    assert [entry["applied"] for entry in emu.requests("bitrix24")] == [0, 0, 25, 25, 10]


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


async def test_a_toggle_undone_by_someone_else_is_seen_in_its_batch_and_corrected(
    emu: Any, connect: Any
) -> None:
    on = [str(f["id"]) for f in emu.state("bitrix24")["flows"] if f["active"]][:2]
    crm = connect("crm")
    batch = crm._batch
    interfered = False

    async def someone_disables_one_first(commands: Any, **kwargs: Any) -> Any:
        nonlocal interfered
        if not interfered and any("activate" in command for command in commands.values()):
            interfered = True
            emu.set_flow("bitrix24", on[0], active=False)  # our toggle turns it back on
        return await batch(commands, **kwargs)

    crm._batch = someone_disables_one_first
    results = await crm.set_states(dict.fromkeys(on, State.DISABLED), known=None)
    assert [(r.outcome, r.state) for r in results] == [(Outcome.CHANGED, State.DISABLED)] * 2
    assert settled(emu, dict.fromkeys(on, State.DISABLED))
    # one read, one toggle batch (its reads show flow 0 on again), one more toggle of flow 0
    # alone, whose verifying read goes apart
    assert [entry["applied"] for entry in emu.requests("bitrix24")] == [0, 2, 1, 0]
