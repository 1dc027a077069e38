"""`flowtui disable crm:*` on N Bitrix24 flows (about 60% of them on), from a shell, with the
emulator enforcing the leaky bucket (2 req/s, burst 50, 503 QUERY_LIMIT_EXCEEDED) and its
latency. Every run starts on a freshly reset emulator (an empty bucket, the same flows).

The peer baseline does the same job with fast-bitrix24 (benchmarks/peer_fast_bitrix24.py),
also from a shell. Requests and 503s come from the emulator's request log.

The limit: the job needs at least ceil(N/50) batched reads, ceil(D/50) batched toggles of
the D flows that are on and ceil(D/50) batched verifying reads; three dependent steps, so
3 × latency when all fit in the burst, else the requests beyond the burst at 2 req/s plus
one latency. The goal is the brief's: 1.3 × the limit of reading all, toggling D and
reading all again (2·ceil(N/50) + ceil(D/50) requests), with no 503, ahead of the peer.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.emulated import (
    BITRIX24_BATCH,
    BITRIX24_BURST,
    BITRIX24_RATE_PER_S,
    Emulated,
    write_config,
)
from benchmarks.harness import Row, median, ratio_to, seconds, verdict

GOAL_RATIO = 1.3
PEER_INSTALLED = importlib.util.find_spec("fast_bitrix24") is not None


def job_limit(requests: int, latency: float) -> float:
    """Seconds for `requests` requests in three dependent steps under the bucket."""
    over = max(0, requests - BITRIX24_BURST) / BITRIX24_RATE_PER_S
    return max(3 * latency, over + latency)


def batches(flows: int) -> int:
    return math.ceil(flows / BITRIX24_BATCH)


def _log(emulated: Emulated) -> tuple[int, int]:
    """(requests, 503 QUERY_LIMIT_EXCEEDED answers) since the reset."""
    log = emulated.requests("bitrix24")
    return len(log), sum(1 for entry in log if entry["status"] == 503)


def _still_on(emulated: Emulated) -> int:
    return sum(1 for flow in emulated.flows("bitrix24") if flow["active"])


def _series(runs: list[tuple[float, int, int, int]]) -> str:
    """Each run's seconds, requests, 503s and flows left on, in run order."""

    def column(index: int) -> str:
        return ", ".join(str(run[index]) for run in runs)

    times = ", ".join(seconds(run[0]) for run in runs)
    return (
        f"{len(runs)} runs from a shell: {times}; requests {column(1)}; 503s {column(2)}; "
        f"flows left on {column(3)}"
    )


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    flows = sizes.converge_flows
    emulated = bench.emulated(flows)
    on = _still_on(emulated)
    ids = emulated.ids("bitrix24")
    runs: list[tuple[float, int, int, int]] = []
    peers: list[tuple[float, int, int, int]] = []
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        config = write_config(emulated, Path(tmp) / "schedules.toml")
        command = shell.flowtui(
            "--config", str(config), "--state-dir", str(Path(tmp) / "state"),
            "disable", "crm:*", "--yes", "--json",
        )  # fmt: skip
        peer = shell.python(
            "-m", "benchmarks.peer_fast_bitrix24", emulated.running.bitrix24_webhook_url, *ids
        )
        for _ in range(sizes.repeats):
            bench.emulated(flows)
            ran = shell.run(command, emulated.env, check=False)
            runs.append((ran.seconds, *_log(emulated), _still_on(emulated)))
            if PEER_INSTALLED:
                bench.emulated(flows)
                ran = shell.run(peer)
                peers.append((ran.seconds, *_log(emulated), _still_on(emulated)))
    cold, requests, limited, _ = runs[0]
    warm = median([run[0] for run in runs[1:]] or [cold])
    if peers:
        peer_cold, peer_requests, peer_limited, peer_left = peers[0]
        peer_warm = median([run[0] for run in peers[1:]] or [peer_cold])
        baseline = (
            f"fast-bitrix24: cold {seconds(peer_cold)} · warm {seconds(peer_warm)}, "
            f"{peer_requests} req, {peer_limited}× 503, {peer_left} left on"
        )
        peer_note = f"fast-bitrix24, {_series(peers)}"
    else:
        peer_warm = 0.0
        baseline = "not run: fast_bitrix24 is not installed"
        peer_note = "fast-bitrix24 not run (pip install -e '.[bench]')"
    reads, toggles = batches(flows), batches(on)
    minimum = reads + 2 * toggles
    limit = job_limit(minimum, emulated.latency_s)
    brief = job_limit(2 * reads + toggles, emulated.latency_s)
    worst_503 = max(run[2] for run in runs)
    worst_left = max(run[3] for run in runs)
    problems = []
    if warm > GOAL_RATIO * brief:
        problems.append(f"{warm / brief:.2f}× the brief's limit")
    if worst_503:
        problems.append(f"{worst_503}× 503")
    if worst_left:
        problems.append(f"{worst_left} flows left on")
    if warm >= peer_warm:
        problems.append("not ahead of the peer" if peers else "no peer measured")
    note = (
        f"{on} of {flows} flows on before each run. flowtui, {_series(runs)}. {peer_note}. "
        f"Limit: {reads} reads + {toggles} toggles + {toggles} verifying "
        f"reads = {minimum} requests (burst {BITRIX24_BURST}); the brief's job: {reads} + "
        f"{toggles} + {reads} = {2 * reads + toggles} requests, {seconds(brief)}."
    )
    return [
        Row(
            f"`flowtui disable crm:*`, {flows} Bitrix24 flows ({on} on), 2 req/s burst 50",
            f"cold {seconds(cold)} · warm {seconds(warm)}, {requests} req, {limited}× 503",
            f"≤ {GOAL_RATIO:g} × {seconds(brief)}, 0× 503, ahead of the peer",
            verdict(not problems, ", ".join(problems)),
            baseline,
            f"{seconds(limit)}: {minimum} requests in 3 dependent steps",
            ratio_to(warm, limit),
            note,
        )
    ]
