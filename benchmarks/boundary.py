"""Rule boundary → verified change: the scheduler (`Scheduler.start()`, APScheduler waking
it at each transition) on the emulator, with one-off maintenance windows opening and
closing every few hundred milliseconds. Latency is the `at` of the `FlowChanged` event the
engine publishes after the change was verified and audited, minus the boundary instant.

Flows come from Diga, GASSAPI and Runflow in turn; Bitrix24 is left out because a pass
every few hundred milliseconds would exceed its 2 req/s by design, which would measure the
platform's limit, not the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import tomli_w

from benchmarks.bench import Bench
from benchmarks.emulated import Emulated
from benchmarks.harness import Row, percentile, ratio_to, seconds, verdict
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import Event, EventBus, FlowChanged
from flowtui.model import FlowRef, State

TARGET_S = 1.0
LEAD = timedelta(seconds=2)  # time for the scheduler to open and converge first
GAP = timedelta(milliseconds=300)  # between two windows' starts (of different flows)
# The engine sends a change only when no transition of its flow comes before the change
# can land (the account's timeout): each window outlasts the timeout the accounts use.
TIMEOUT = timedelta(seconds=1)
WINDOW = timedelta(milliseconds=1500)
SETTLE = timedelta(seconds=3)  # after the last boundary, for its change to be verified
SLOW_MS = 2500  # the slowed account's answers: 2.5 times its timeout
PLATFORMS = {"diga": "support", "gassapi": "ops", "runflow": "studio"}


@dataclass(frozen=True)
class Boundary:
    flow: FlowRef
    state: State
    at: datetime


def _usable(emulated: Emulated, platform: str) -> list[str]:
    """Flows that can be switched: published (Diga), not running, in a member project."""
    state = emulated.admin.state(platform)
    member = {p["id"] for p in state.get("projects", []) if p["member"]}
    return [
        str(flow["id"])
        for flow in state["flows"]
        if flow.get("published", True)
        and not flow.get("running", False)
        and flow.get("project_id", "") in member | {""}
    ]


def _flows(emulated: Emulated, count: int) -> list[FlowRef]:
    """`count` flows across the platforms in turn, each switched on first."""
    usable = {platform: _usable(emulated, platform) for platform in PLATFORMS}
    chosen = []
    for n in range(count):
        platform = list(PLATFORMS)[n % len(PLATFORMS)]
        flow_id = usable[platform][n // len(PLATFORMS)]
        emulated.admin.set_flow(platform, flow_id, active=True)
        chosen.append(FlowRef(PLATFORMS[platform], flow_id))
    return chosen


def _rules(flows: list[FlowRef], t0: datetime) -> tuple[list[dict[str, Any]], list[Boundary]]:
    rules, boundaries = [], []
    for n, flow in enumerate(flows):
        start = t0 + n * GAP
        end = start + WINDOW
        rules.append(
            {
                "name": f"window-{n}",
                "flows": [str(flow)],
                "start": start,
                "end": end,
                "state": "disabled",
                "after": "enabled",
            }
        )
        boundaries += [Boundary(flow, State.DISABLED, start), Boundary(flow, State.ENABLED, end)]
    return rules, boundaries


class Watch:
    """Matches each boundary with the first verified change to its state at or after it."""

    def __init__(self, boundaries: list[Boundary]) -> None:
        self.pending = {(b.flow, b.state): b for b in boundaries}
        self.latencies: list[float] = []
        self.done = asyncio.Event()

    async def follow(self, queue: asyncio.Queue[Event]) -> None:
        while self.pending:
            event = await queue.get()
            if not isinstance(event, FlowChanged) or event.error is not None:
                continue
            boundary = self.pending.get((event.flow, event.new))
            if boundary is not None and event.at >= boundary.at:
                del self.pending[(event.flow, event.new)]
                self.latencies.append((event.at - boundary.at).total_seconds())
        self.done.set()


async def _run(emulated: Emulated, directory: Path, samples: int, slowed: bool) -> Watch:
    """`slowed`: Bitrix24 answers slower than its timeout while a window keeps one of its
    flows governed, so its lane is busy retrying the whole time (SPEC §3: it must delay
    only its own flows)."""
    flows = _flows(emulated, max(1, samples // 2))
    t0 = datetime.now(UTC) + LEAD
    rules, boundaries = _rules(flows, t0)
    crm = emulated.ids("bitrix24")[:1]
    accounts = emulated.accounts(crm)
    if slowed:
        emulated.admin.set_fault("bitrix24", latency_ms=SLOW_MS)
        rules.append(
            {
                "name": "slow-account",
                "flows": [f"crm:{crm[0]}"],
                "start": t0 - LEAD,
                "end": boundaries[-1].at + SETTLE,
                "state": "disabled",
                "after": "enabled",
                "enforce": True,
            }
        )
    for account in accounts.values():
        account["timeout"] = f"{TIMEOUT.total_seconds():g}s"
    config = directory / "schedules.toml"
    config.write_text(tomli_w.dumps({"accounts": accounts, "maintenance": rules}))
    bus = EventBus(maxsize=100_000)
    watch = Watch(boundaries)
    following = asyncio.create_task(watch.follow(bus.subscribe()))
    scheduler = Scheduler(config, directory / "state", bus, env=emulated.env)
    await scheduler.start()
    try:
        deadline = boundaries[-1].at + SETTLE - datetime.now(UTC)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.done.wait(), max(0.0, deadline.total_seconds()))
    finally:
        await scheduler.stop()
        following.cancel()
        if slowed:
            emulated.admin.set_fault("bitrix24", latency_ms=round(emulated.latency_s * 1000))
    return watch


def measure(bench: Bench) -> list[Row]:
    return [_row(bench, slowed=False), _row(bench, slowed=True)]


def _row(bench: Bench, slowed: bool) -> Row:
    samples = bench.sizes.boundary_samples
    emulated = bench.emulated(max(20, samples))
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        watch = asyncio.run(_run(emulated, Path(tmp), samples, slowed))
    measured, missing = watch.latencies, len(watch.pending)
    total = len(measured) + missing
    p99 = percentile(measured, 0.99) if measured else float("inf")
    figure = f"p99 {seconds(p99)}" if measured else "no change seen"
    note = (
        f"{total} boundaries of {total // 2} one-off windows, "
        f"each {seconds(WINDOW.total_seconds())} long, starting {seconds(GAP.total_seconds())} "
        f"apart; account timeout {seconds(TIMEOUT.total_seconds())}"
    )
    if measured:
        note += f"; p50 {seconds(percentile(measured, 0.5))}, max {seconds(max(measured))}"
    note += f"; {missing} boundaries without a verified change within {SETTLE.seconds} s."
    if slowed:
        note += f" Bitrix24 answered in {SLOW_MS} ms (timeout 1 s) and was governed throughout."
    # read the flow, then send the change whose answer carries the new state
    limit = 2 * emulated.latency_s
    name = "rule boundary → verified change (scheduler on the emulator)"
    return Row(
        name + (", Bitrix24 slower than its timeout" if slowed else ""),
        figure,
        f"p99 < {seconds(TARGET_S)}",
        verdict(missing == 0 and p99 < TARGET_S, f"{missing} missing, {figure}"),
        limit=f"{seconds(limit)}: read, then change (2 requests)",
        ratio=ratio_to(p99, limit) if measured else "—",
        note=note,
    )
