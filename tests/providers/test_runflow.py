"""Runflow over real HTTP: cursors, per-account status values, updated_at conflicts, 429s."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowtui.model import State
from flowtui.providers.base import Outcome, PlatformError
from flowtui.providers.registry import Environment, build_provider
from flowtui.providers.transport import RetryPolicy


def raw(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("runflow")["flows"]}


def with_status(emu: Any, status: str, count: int = 1) -> list[str]:
    found = [i for i, f in raw(emu).items() if f["status_code"] == status]
    assert len(found) >= count
    return found[:count]


async def test_list_follows_next_pq(emu: Any, connect: Any) -> None:
    emu.reset(flows=1100, seed=2)
    flows = await connect("studio").list_flows()
    assert len(flows) == 1100
    pages = [r for r in emu.requests("runflow") if r["path"].endswith("/flow-summaries")]
    assert len(pages) == 3
    assert all("limit=500" in r["query"] for r in pages)
    assert "pq=" in pages[1]["query"]


async def test_disable_sends_the_configured_value(emu: Any, connect: Any) -> None:
    (flow_id,) = with_status(emu, "active")
    studio = connect("studio", enabled_value="active", disabled_value="paused")
    result = await studio.set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    assert raw(emu)[flow_id]["status_code"] == "paused"


async def test_unmapped_status_reads_unknown_and_refuses_to_set(emu: Any, connect: Any) -> None:
    (flow_id,) = with_status(emu, "draft")
    studio = connect("studio")
    assert (await studio.get_flow(flow_id)).state is State.UNKNOWN
    result = await studio.set_state(flow_id, State.ENABLED)
    assert isinstance(result.error, PlatformError)
    assert "'draft' is neither the enabled value 'active' nor the disabled value" in str(
        result.error
    )
    assert raw(emu)[flow_id]["status_code"] == "draft"


async def test_stale_updated_at_refetches_and_retries_once(emu: Any, connect: Any) -> None:
    (flow_id,) = with_status(emu, "active")
    studio = connect("studio")
    read = studio.get_flow
    reads = 0

    async def read_then_someone_edits(fid: str) -> Any:
        nonlocal reads
        flow = await read(fid)
        reads += 1
        if reads == 1:
            emu.set_flow("runflow", fid, name="edited meanwhile")
        return flow

    studio.get_flow = read_then_someone_edits
    result = await studio.set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    statuses = [r["status"] for r in emu.requests("runflow") if r["method"] == "PATCH"]
    assert statuses == [409, 200]
    assert raw(emu)[flow_id]["status_code"] == "inactive"


async def test_conflict_resolved_by_someone_else_is_not_rewritten(emu: Any, connect: Any) -> None:
    (flow_id,) = with_status(emu, "active")
    studio = connect("studio")
    read = studio.get_flow

    async def read_then_someone_disables(fid: str) -> Any:
        flow = await read(fid)
        if raw(emu)[fid]["status_code"] == "active":
            emu.set_flow("runflow", fid, active=False)
        return flow

    studio.get_flow = read_then_someone_disables
    result = await studio.set_state(flow_id, State.DISABLED)
    assert result.state is State.DISABLED
    assert [r["status"] for r in emu.requests("runflow") if r["method"] == "PATCH"] == [409]


async def test_429_without_retry_after_backs_off_and_converges(
    emu: Any, environment: Environment, account_for: Any
) -> None:
    emu.set_fault("runflow", rate_limit_per_s=20, rate_limit_burst=2, retry_after_s=None)
    ids = with_status(emu, "active", 5)
    patient = replace(environment, retry=RetryPolicy(scale=0.1))  # waits 0.05…0.4 s (+ jitter)
    studio = build_provider("studio", account_for("studio"), patient)
    try:
        results = await studio.set_states(dict.fromkeys(ids, State.DISABLED))
    finally:
        await studio.aclose()
    assert all(r.ok for r in results), [r.reason for r in results]
    assert all(raw(emu)[i]["status_code"] == "inactive" for i in ids)
    assert 429 in {r["status"] for r in emu.requests("runflow")}


async def test_organization_header_selects_the_organization(emu: Any, connect: Any) -> None:
    other = emu.state("runflow")["other_org_id"]
    result = await connect("studio", organization_id=other).set_state("x", State.DISABLED)
    assert result.outcome is Outcome.FAILED
    assert "PERMISSION_DENIED" in str(result.error)
