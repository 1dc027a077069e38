"""Diga over real HTTP: paging, the silent no-op of unpublished flows, publish, create."""

from __future__ import annotations

from typing import Any

from flowtui.model import State
from flowtui.providers.base import NotFound, NotPublished, Outcome


def raw_flows(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("diga")["flows"]}


def pick(emu: Any, **wanted: Any) -> str:
    for flow_id, flow in raw_flows(emu).items():
        if all(flow[key] == value for key, value in wanted.items()):
            return flow_id
    raise AssertionError(f"no diga flow with {wanted}")


async def test_list_follows_the_cursor_through_every_page(emu: Any, connect: Any) -> None:
    emu.reset(flows=70, seed=3)
    flows = await connect("support").list_flows()
    assert sorted(f.ref.flow_id for f in flows) == sorted(raw_flows(emu))
    pages = [r for r in emu.requests("diga") if r["method"] == "GET"]
    assert len(pages) == 3
    assert all("limit=30" in r["query"] for r in pages)
    assert "after=" in pages[1]["query"]


async def test_disable_converges_and_a_second_run_is_already(emu: Any, connect: Any) -> None:
    flow_id = pick(emu, status="ENABLED", published=True)
    diga = connect("support")
    first = await diga.set_state(flow_id, State.DISABLED)
    assert (first.outcome, first.state) == (Outcome.CHANGED, State.DISABLED)
    assert raw_flows(emu)[flow_id]["status"] == "DISABLED"
    again = await diga.set_state(flow_id, State.DISABLED)
    assert again.outcome is Outcome.ALREADY
    patches = [r for r in emu.requests("diga") if r["method"] == "PATCH"]
    assert len(patches) == 1


async def test_enabling_an_unpublished_flow_fails_and_publish_fixes_it(
    emu: Any, connect: Any
) -> None:
    flow_id = pick(emu, published=False)
    diga = connect("support")
    result = await diga.set_state(flow_id, State.ENABLED)
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, NotPublished)
    assert result.error.permanent
    assert result.state is State.NOT_PUBLISHED
    assert "not published — publish it first: flowtui publish support:" in str(result.error)
    assert raw_flows(emu)[flow_id]["status"] == "DISABLED"
    published = await diga.publish(flow_id)
    assert published.ref.flow_id == flow_id
    enabled = await diga.set_state(flow_id, State.ENABLED)
    assert (enabled.outcome, enabled.state) == (Outcome.CHANGED, State.ENABLED)
    assert raw_flows(emu)[flow_id]["status"] == "ENABLED"


async def test_null_status_reads_as_unknown(emu: Any, connect: Any) -> None:
    flow_id = pick(emu, published=True)
    emu.set_flow("diga", flow_id, status=None)
    flow = await connect("support").get_flow(flow_id)
    assert flow.state is State.UNKNOWN


async def test_created_flow_is_a_disabled_draft(emu: Any, connect: Any) -> None:
    flow = await connect("support").create_flow("nightly report")
    assert (flow.name, flow.state) == ("nightly report", State.DISABLED)
    assert raw_flows(emu)[flow.ref.flow_id]["published"] is False


async def test_lost_answer_of_the_absolute_patch_is_retried(emu: Any, connect: Any) -> None:
    flow_id = pick(emu, status="ENABLED", published=True)
    emu.set_fault("diga", drop_after_apply=1)
    result = await connect("support").set_state(flow_id, State.DISABLED)
    assert (result.outcome, result.state) == (Outcome.CHANGED, State.DISABLED)
    assert any(r["dropped"] for r in emu.requests("diga"))


async def test_unknown_flow_is_not_found(emu: Any, connect: Any) -> None:
    result = await connect("support").set_state("wf_nope", State.DISABLED)
    assert isinstance(result.error, NotFound)
