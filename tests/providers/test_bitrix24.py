"""Bitrix24 over real HTTP: batched reads, toggle-only activate never silently inverted."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from flowtui.model import State
from flowtui.providers.base import Conflict, NotFound, Outcome
from flowtui.providers.registry import Environment, build_provider
from flowtui.providers.transport import RetryPolicy


def raw(emu: Any) -> dict[str, dict[str, Any]]:
    return {str(flow["id"]): flow for flow in emu.state("bitrix24")["flows"]}


def ids_with(emu: Any, active: bool) -> list[str]:
    return [i for i, f in raw(emu).items() if f["active"] is active]


def calls(emu: Any, method: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests("bitrix24") if r["path"].endswith(method)]


async def test_reads_are_batched(emu: Any, connect: Any) -> None:
    emu.reset(flows=60, seed=1)
    flows = await connect("crm").list_flows()
    assert {f.ref.flow_id for f in flows} == set(raw(emu))
    assert {f.state for f in flows} == {State.ENABLED, State.DISABLED}
    assert len(calls(emu, "/batch")) == 2  # 60 flows, ≤50 per batch
    assert not calls(emu, "tasks.flow.Flow.get")


async def test_disable_toggles_only_what_differs_then_verifies(emu: Any, connect: Any) -> None:
    on, off = ids_with(emu, True), ids_with(emu, False)
    results = await connect("crm").set_states(dict.fromkeys(on + off, State.DISABLED))
    outcomes = {r.ref.flow_id: r.outcome for r in results}
    assert {outcomes[i] for i in on} == {Outcome.CHANGED}
    assert {outcomes[i] for i in off} == {Outcome.ALREADY}
    assert all(flow["active"] is False for flow in raw(emu).values())
    assert len(on) > 1
    assert not calls(emu, "tasks.flow.Flow.activate")  # every toggle went in a batch
    # one read, then the toggles with their verifying reads, ≤25 of each per batch
    assert len(calls(emu, "/batch")) == 1 + math.ceil(len(on) / 25)


async def test_someone_toggling_between_read_and_write_is_corrected(emu: Any, connect: Any) -> None:
    flow_id = ids_with(emu, True)[0]
    crm = connect("crm")
    activate = crm._activate
    interfered = False

    async def someone_disables_first(fid: str) -> Any:
        nonlocal interfered
        if not interfered:
            interfered = True
            emu.set_flow("bitrix24", fid, active=False)
        return await activate(fid)

    crm._activate = someone_disables_first
    result = await crm.set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    assert raw(emu)[flow_id]["active"] is False
    assert len(calls(emu, "tasks.flow.Flow.activate")) == 2


async def test_a_persistent_fight_ends_in_a_clear_failure(emu: Any, connect: Any) -> None:
    flow_id = ids_with(emu, True)[0]
    crm = connect("crm")
    activate = crm._activate

    async def someone_always_disables_first(fid: str) -> Any:
        emu.set_flow("bitrix24", fid, active=False)
        return await activate(fid)

    crm._activate = someone_always_disables_first
    result = await crm.set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, Conflict)
    assert "did not converge" in str(result.error)
    assert result.state is State.ENABLED  # reported as it is, never as success
    assert len(calls(emu, "tasks.flow.Flow.activate")) == 2


async def test_lost_activate_answer_is_reread_not_resent(emu: Any, connect: Any) -> None:
    flow_id = ids_with(emu, True)[0]
    emu.set_fault("bitrix24", drop_after_apply=1)
    result = await connect("crm").set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    activates = calls(emu, "tasks.flow.Flow.activate")
    assert [a["dropped"] for a in activates] == [True]
    assert raw(emu)[flow_id]["active"] is False


async def test_5xx_on_activate_is_reread_then_sent_again(emu: Any, connect: Any) -> None:
    flow_id = ids_with(emu, True)[0]
    crm = connect("crm")
    activate = crm._activate
    first = True

    async def next_request_fails(fid: str) -> Any:
        nonlocal first
        if first:
            first = False
            emu.set_fault("bitrix24", burst_5xx=1)
        return await activate(fid)

    crm._activate = next_request_fails
    result = await crm.set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    statuses = [a["status"] for a in calls(emu, "tasks.flow.Flow.activate")]
    assert statuses == [500, 200]


async def test_query_limit_bursts_are_retried(
    emu: Any, environment: Environment, account_for: Any
) -> None:
    emu.set_fault("bitrix24", bucket_threshold=3, bucket_drain_per_s=100)
    patient = replace(environment, retry=RetryPolicy(scale=0.1))
    crm = build_provider("crm", account_for("crm", rate=50, burst=100), patient)
    ids = ids_with(emu, True)[:6]
    try:
        results = await asyncio.gather(*(crm.set_state(i, State.DISABLED) for i in ids))
    finally:
        await crm.aclose()
    assert all(r.ok for r in results), [r.reason for r in results]
    assert 503 in {r["status"] for r in emu.requests("bitrix24")}
    assert all(raw(emu)[i]["active"] is False for i in ids)


async def test_client_side_bucket_keeps_under_the_limit(emu: Any, connect: Any) -> None:
    emu.set_fault("bitrix24", bucket_threshold=5, bucket_drain_per_s=20)
    crm = connect("crm", rate=20, burst=5)
    ids = ids_with(emu, True)
    results = await crm.set_states(dict.fromkeys(ids, State.DISABLED))
    assert all(r.ok for r in results)
    assert 503 not in {r["status"] for r in emu.requests("bitrix24")}


async def test_unknown_flow_is_not_found(emu: Any, connect: Any) -> None:
    result = await connect("crm").set_state("999999", State.DISABLED)
    assert isinstance(result.error, NotFound)


async def test_oauth_renewal_is_persisted(emu: Any, connect: Any, state_dir: Path) -> None:
    flow_id = ids_with(emu, True)[0]
    crm = connect("crm_oauth")
    emu.expire_tokens("bitrix24")
    result = await crm.set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.CHANGED
    stored = json.loads((state_dir / "tokens" / "crm_oauth.json").read_text())
    assert stored["refresh_token"] not in (None, emu.bitrix24_refresh_token)


async def test_webhook_code_never_shows(
    emu: Any, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.set_fault("bitrix24", error_rate=1.0)
    crm = connect("crm")
    assert emu.token not in repr(crm)
    result = await crm.set_state(ids_with(emu, True)[0], State.DISABLED)
    assert result.outcome is Outcome.FAILED
    assert emu.token not in str(result.error)
    assert "/rest/1/" in caplog.text  # the URLs were logged …
    assert emu.token not in caplog.text  # … without the code
