"""Converge N Bitrix24 flows that all differ from their desired state, through
`converge_many` (the path `flowtui enable/disable` and the engine use), with the emulator
enforcing the platform's leaky bucket (2 req/s, burst 50).

The baseline is not run: the naive way — get, activate, get per flow — needs 3 requests
per flow, and its time under the limit follows from the count: (3N − burst) / rate.
`QUERY_LIMIT_EXCEEDED` answers are counted from the emulator's request log (every 503 of
Bitrix24 while the `overload_limit` fault is off is one).
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.bench import Bench
from benchmarks.emulated import Emulated
from benchmarks.harness import Row, seconds, times, verdict
from flowtui.model import FlowRef, State
from flowtui.providers.bulk import converge_many

RATE = 2.0
BURST = 50
TARGET_S = 60.0


async def _converge(emulated: Emulated, desired: dict[FlowRef, State]) -> tuple[float, int]:
    provider = emulated.provider("bitrix24", emulated.config())
    try:
        started = time.perf_counter()
        results = await converge_many({"crm": provider}, desired)
        elapsed = time.perf_counter() - started
    finally:
        await provider.aclose()
    return elapsed, sum(1 for result in results if not result.ok)


def measure(bench: Bench) -> list[Row]:
    flows = bench.sizes.converge_flows
    emulated = bench.emulated(flows)
    desired = {
        FlowRef("crm", str(flow["id"])): State.DISABLED if flow["active"] else State.ENABLED
        for flow in emulated.flows("bitrix24")
    }
    emulated.admin.clear_requests()
    elapsed, failed = asyncio.run(_converge(emulated, desired))
    log = emulated.requests("bitrix24")
    limited = sum(1 for entry in log if entry["status"] == 503)
    after = {str(flow["id"]): flow["active"] for flow in emulated.flows("bitrix24")}
    wrong = sum(
        1 for ref, state in desired.items() if after[ref.flow_id] != (state is State.ENABLED)
    )
    naive_requests = 3 * flows
    naive_s = max(0.0, naive_requests - BURST) / RATE
    ok = elapsed <= TARGET_S and limited == 0 and failed == 0 and wrong == 0
    note = (
        f"{len(log)} requests; {limited} answered QUERY_LIMIT_EXCEEDED; "
        f"{failed} flows reported failed; {wrong} flows not in the desired state afterwards."
    )
    return [
        Row(
            f"converge {flows} Bitrix24 flows (all differ), 2 req/s burst 50",
            f"{seconds(elapsed)}, {len(log)} req, {limited}× 503",
            f"≤ {TARGET_S:g} s, no QUERY_LIMIT_EXCEEDED",
            verdict(ok),
            f"~{seconds(naive_s)} (estimated: {naive_requests} req at 2 req/s)",
            f"{times(naive_s / elapsed)} faster" if elapsed else "—",
            note,
        )
    ]
