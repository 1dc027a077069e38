"""Refresh every flow of one account: the provider's `list_flows` (the path the app's live
refresh and `flowtui ls` use) against a naive loop of one GET per flow on a new connection.

Each provider run builds a fresh provider (cold connections, as `flowtui ls` does) on a
freshly reset emulator, so the Bitrix24 run starts with an empty leaky bucket and stays
under the real limit (2 req/s, burst 50). The naive Bitrix24 loop would need ~8 minutes
under that limit, so the emulator's bucket is lifted for it: its request count is the
figure that matters there.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from benchmarks.bench import Bench
from benchmarks.emulated import PLATFORMS, Emulated
from benchmarks.harness import Row, median, seconds, timed, times, verdict

TARGET_SPEEDUP = 10.0
TARGET_FEWER_REQUESTS = 20.0
LIFTED_BUCKET = 10**9


def naive_request(emulated: Emulated, platform: str, flow_id: str) -> dict[str, Any]:
    """httpx.request arguments reading one flow the documented way."""
    running = emulated.running
    bearer = {"Authorization": f"Bearer {running.token}"}
    if platform == "diga":
        return {
            "method": "GET",
            "url": f"{running.diga_url}/v1/workflow/{flow_id}",
            "headers": bearer,
        }
    if platform == "gassapi":
        params = {"act": "flow", "id": flow_id}
        return {"method": "GET", "url": running.gassapi_url, "params": params, "headers": bearer}
    if platform == "runflow":
        headers = {**bearer, "X-Organization-Id": running.runflow_org_id}
        return {
            "method": "GET",
            "url": f"{running.runflow_url}/v1/flows/{flow_id}",
            "headers": headers,
        }
    url = running.bitrix24_webhook_url + "tasks.flow.Flow.get"
    return {"method": "POST", "url": url, "json": {"flowId": int(flow_id)}}


def listed_ids(emulated: Emulated, platform: str) -> list[str]:
    """The flows the account can see (GASSAPI: only projects the user is a member of)."""
    if platform != "gassapi":
        return emulated.ids(platform)
    state = emulated.admin.state("gassapi")
    member = {project["id"] for project in state["projects"] if project["member"]}
    return [str(flow["id"]) for flow in state["flows"] if flow["project_id"] in member]


def naive_loop(emulated: Emulated, platform: str, ids: list[str]) -> None:
    """One request per flow, in turn, each on a new connection (no keep-alive). One client
    for all: building an httpx client per request would add its own cost to the baseline."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for flow_id in ids:
            response = client.request(**naive_request(emulated, platform, flow_id))
            if response.status_code != 200:
                raise RuntimeError(f"naive {platform} read answered {response.status_code}")


async def _list_once(emulated: Emulated, platform: str) -> tuple[float, int]:
    provider = emulated.provider(platform, emulated.config())
    try:
        started = time.perf_counter()
        flows = await provider.list_flows()
        return time.perf_counter() - started, len(flows)
    finally:
        await provider.aclose()


def _provider_runs(bench: Bench, platform: str) -> tuple[float, int, int]:
    """Median seconds, flows listed and requests sent by the provider's refresh."""
    elapsed: list[float] = []
    listed = requests = 0
    for _ in range(bench.sizes.repeats):
        emulated = bench.emulated(bench.sizes.refresh_flows)
        emulated.admin.clear_requests()
        took, listed = asyncio.run(_list_once(emulated, platform))
        elapsed.append(took)
        requests = len(emulated.requests(platform))
    return median(elapsed), listed, requests


def measure_platform(bench: Bench, platform: str) -> Row:
    emulated = bench.emulated(bench.sizes.refresh_flows)
    ids = listed_ids(emulated, platform)
    if platform == "bitrix24":
        emulated.admin.set_fault("bitrix24", bucket_threshold=LIFTED_BUCKET)
    emulated.admin.clear_requests()
    naive_s = timed(lambda: naive_loop(emulated, platform, ids))
    naive_requests = len(emulated.requests(platform))
    took, listed, requests = _provider_runs(bench, platform)
    speedup = naive_s / took
    fewer = naive_requests / max(requests, 1)
    measure = f"refresh {len(ids)} flows, {platform}"
    figure = f"{seconds(took)}, {requests} req"
    baseline = f"{seconds(naive_s)}, {naive_requests} req"
    note = ""
    complete = listed == len(ids)
    if not complete:
        note = f"the provider listed {listed} of {len(ids)} flows. "
    if platform == "bitrix24":
        note += (
            "Naive loop run with the emulator's leaky bucket lifted "
            f"(under 2 req/s it would take ~{(naive_requests - 50) / 2:.0f} s); "
            "the provider ran under the real limit."
        )
        return Row(
            measure,
            figure,
            f"≥ {TARGET_FEWER_REQUESTS:g}× fewer requests",
            verdict(complete and fewer >= TARGET_FEWER_REQUESTS),
            baseline + " (bucket lifted)",
            f"{times(fewer)} fewer req, {times(speedup)} faster",
            note.strip(),
        )
    return Row(
        measure,
        figure,
        f"≥ {TARGET_SPEEDUP:g}× faster",
        verdict(complete and speedup >= TARGET_SPEEDUP),
        baseline,
        f"{times(speedup)} faster",
        note.strip(),
    )


def measure(bench: Bench) -> list[Row]:
    return [measure_platform(bench, platform) for platform in PLATFORMS]
