"""Diga over real HTTP: paging, the silent no-op of unpublished flows, publish, create."""

from __future__ import annotations

from typing import Any

import httpx

from flowtui.model import State
from flowtui.providers.base import NotFound, NotPublished, Outcome
from flowtui.providers.diga import DigaProvider
from flowtui.providers.transport import Transport

STAMP = "2031-03-04T05:06:07Z"


def raw_flows(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("diga")["flows"]}


def pick(emu: Any, **wanted: Any) -> str:
    for flow_id, flow in raw_flows(emu).items():
        if all(flow[key] == value for key, value in wanted.items()):
            return flow_id
    raise AssertionError(f"no diga flow with {wanted}")


async def test_list_asks_for_every_page_after_the_first_at_once(emu: Any, connect: Any) -> None:
    emu.reset(flows=70, seed=3)
    emu.set_fault("diga", latency_ms=40)
    flows = await connect("support").list_flows()
    assert sorted(f.ref.flow_id for f in flows) == sorted(raw_flows(emu))
    pages = [r for r in emu.requests("diga") if r["method"] == "GET"]
    assert sorted(r["query"] for r in pages) == [f"limit=30&page={n}" for n in (1, 2, 3)]
    first, *rest = sorted(pages, key=lambda r: r["at"])
    answered = first["at"]
    assert all(r["at"] - r["duration_ms"] / 1000 >= answered for r in rest)
    # pages 2 and 3 were in flight together: each began before the other ended
    assert all(r["at"] - r["duration_ms"] / 1000 < min(o["at"] for o in rest) for r in rest)


def diga_pages(pages: dict[str, dict[str, Any]], asked: list[str]) -> DigaProvider:
    """A Diga provider whose list answers come from `pages` (by query string)."""

    def reply(request: httpx.Request) -> httpx.Response:
        query = request.url.query.decode()
        asked.append(query)
        return httpx.Response(200, json=pages[query])

    transport = Transport("http://diga.test", http_transport=httpx.MockTransport(reply))
    return DigaProvider("support", transport, "diga-test-key")


def page(ids: list[str], *, more: bool, total: int | None) -> dict[str, Any]:
    data = [
        {"id": i, "name": i, "status": "ENABLED", "created": STAMP, "updated": STAMP} for i in ids
    ]
    return {"data": data, "has_more": more, "last_id": ids[-1], "total_pages": total}


async def test_a_flow_created_while_paging_is_followed_by_cursor_and_listed_once() -> None:
    # wf_new arrived after page 1 was read: page 2 starts with a flow page 1 had shown
    asked: list[str] = []
    diga = diga_pages(
        {
            "limit=30&page=1": page(["wf_3", "wf_2"], more=True, total=2),
            "limit=30&page=2": page(["wf_2", "wf_1"], more=True, total=3),
            "limit=30&after=wf_1": page(["wf_0"], more=False, total=3),
        },
        asked,
    )
    flows = await diga.list_flows()
    assert [f.ref.flow_id for f in flows] == ["wf_3", "wf_2", "wf_1", "wf_0"]
    assert asked == ["limit=30&page=1", "limit=30&page=2", "limit=30&after=wf_1"]


async def test_without_total_pages_the_list_is_walked_by_cursor() -> None:
    asked: list[str] = []
    diga = diga_pages(
        {
            "limit=30&page=1": page(["wf_2"], more=True, total=None),
            "limit=30&after=wf_2": page(["wf_1"], more=True, total=None),
            "limit=30&after=wf_1": page(["wf_0"], more=False, total=None),
        },
        asked,
    )
    assert [f.ref.flow_id for f in await diga.list_flows()] == ["wf_2", "wf_1", "wf_0"]
    assert len(asked) == 3


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
