"""`flowtui disable crm:*` on N Bitrix24 flows (about 60% of them on), from a shell, and the
daemon's start pass doing the same job (`flowtui daemon --once` under a window that holds
crm:* disabled, a fresh state directory each run), with the emulator enforcing the leaky
bucket (2 req/s, burst 50, 503 QUERY_LIMIT_EXCEEDED) and its latency. Every run starts on a
freshly reset emulator (an empty bucket, the same flows).

The peer baseline does the same job with fast-bitrix24 (benchmarks/peer_fast_bitrix24.py),
also from a shell, in the same run. Requests and 503s come from the emulator's request log.

Two models of the job, each named where it is used:
- the limit column: the least the platform allows. ceil(N/50) batched reads, then the D
  flows that are on toggled with a verifying read of each right after its toggle in the
  same batch (ceil(2D/50) batches): two dependent steps, so 2 × latency while every
  request fits in the burst, else the requests beyond it at 2 req/s plus one latency.
  Process start-up is not in it.
- the goal: the issue's job, ceil(N/50) reads + ceil(D/50) toggles + ceil(N/50) verifying
  reads of every flow, paced the same way; within 1.3× of it, with no 503, ahead of the
  peer.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.emulated import (
    BITRIX24_BATCH,
    BITRIX24_BURST,
    BITRIX24_RATE_PER_S,
    write_config,
)
from benchmarks.harness import Row, counted, median, ratio_to, seconds, verdict

GOAL_RATIO = 1.3
PEER_INSTALLED = importlib.util.find_spec("fast_bitrix24") is not None
WINDOW = "freeze-crm"


def job_limit(requests: int, steps: int, latency: float) -> float:
    """Seconds for `requests` requests in `steps` dependent steps under the bucket."""
    over = max(0, requests - BITRIX24_BURST) / BITRIX24_RATE_PER_S
    return max(steps * latency, over + latency)


def batches(commands: int) -> int:
    return math.ceil(commands / BITRIX24_BATCH)


def _paced(requests: int) -> str:
    """How `requests` meet the bucket, in words."""
    if requests <= BITRIX24_BURST:
        return f", all within the burst of {BITRIX24_BURST}"
    return (
        f", {requests - BITRIX24_BURST} beyond the burst of {BITRIX24_BURST} "
        f"at {BITRIX24_RATE_PER_S:g} req/s"
    )


@dataclass(frozen=True)
class Run:
    seconds: float
    requests: int
    limited: int  # 503 QUERY_LIMIT_EXCEEDED answers
    left_on: int
    code: int


@dataclass(frozen=True)
class Series:
    """Runs of one command, in run order: the first is cold, the median of the rest warm."""

    name: str
    runs: list[Run]

    @property
    def cold(self) -> Run:
        return self.runs[0]

    @property
    def warm(self) -> float:
        return median([run.seconds for run in self.runs[1:]] or [self.cold.seconds])

    def worst(self, field: str) -> int:
        return max(getattr(run, field) for run in self.runs)

    def figure(self) -> str:
        return (
            f"cold {seconds(self.cold.seconds)} · warm {seconds(self.warm)}, "
            f"{self.cold.requests} req, {self.cold.limited}× 503"
        )

    def note(self) -> str:
        def column(field: str) -> str:
            return ", ".join(str(getattr(run, field)) for run in self.runs)

        times = ", ".join(seconds(run.seconds) for run in self.runs)
        return (
            f"{self.name}, {len(self.runs)} runs from a shell: {times}; requests "
            f"{column('requests')}; 503s {column('limited')}; flows left on {column('left_on')}; "
            f"exit codes {column('code')}"
        )


def _run(bench: Bench, flows: int, command: list[str], env: dict[str, str] | None) -> Run:
    emulated = bench.emulated(flows)
    ran = shell.run(command, env, check=False)
    log = emulated.requests("bitrix24")
    limited = sum(1 for entry in log if entry["status"] == 503)
    left_on = sum(1 for flow in emulated.flows("bitrix24") if flow["active"])
    return Run(ran.seconds, len(log), limited, left_on, ran.code)


def _window() -> dict[str, object]:
    """A maintenance window open now (and for a day) holding every crm flow disabled."""
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "name": WINDOW,
        "flows": ["crm:*"],
        "start": now - timedelta(hours=1),
        "end": now + timedelta(days=1),
        "state": "disabled",
    }


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    flows = sizes.converge_flows
    emulated = bench.emulated(flows)
    on = sum(1 for flow in emulated.flows("bitrix24") if flow["active"])
    ids = emulated.ids("bitrix24")
    disable = Series("flowtui disable", [])
    start = Series("flowtui daemon --once", [])
    peer = Series("fast-bitrix24", [])
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        root = Path(tmp)
        config = write_config(emulated, root / "schedules.toml")
        daemon_config = write_config(emulated, root / "daemon.toml", maintenance=[_window()])
        command = shell.flowtui(
            "--config", str(config), "--state-dir", str(root / "state"),
            "disable", "crm:*", "--yes", "--json",
        )  # fmt: skip
        peer_command = shell.python(
            "-m", "benchmarks.peer_fast_bitrix24", emulated.running.bitrix24_webhook_url, *ids
        )
        for repeat in range(sizes.repeats):
            disable.runs.append(_run(bench, flows, command, emulated.env))
            daemon_command = shell.flowtui(
                "--config", str(daemon_config), "--state-dir", str(root / f"daemon-{repeat}"),
                "daemon", "--once",
            )  # fmt: skip
            start.runs.append(_run(bench, flows, daemon_command, emulated.env))
            if PEER_INSTALLED:
                peer.runs.append(_run(bench, flows, peer_command, None))
    reads, toggled = batches(flows), batches(2 * on)
    least = reads + toggled
    limit = job_limit(least, 2, emulated.latency_s)
    issue_requests = 2 * reads + batches(on)
    issue = job_limit(issue_requests, 3, emulated.latency_s)
    limit_text = (
        f"{seconds(limit)}: {counted(reads, 'read')}, then "
        f"{counted(toggled, 'batch', 'batches')} of toggles each with its verifying read = "
        f"{counted(least, 'request')} in 2 dependent steps{_paced(least)}; start-up not included"
    )
    goal = (
        f"≤ {GOAL_RATIO:g} × {seconds(issue)} (the issue's job: {reads} reads + "
        f"{batches(on)} toggles + {reads} verifying reads = {issue_requests} requests in 3 "
        f"steps{_paced(issue_requests)}), 0× 503, ahead of the peer"
    )
    baseline = (
        f"fast-bitrix24: {peer.figure()}, {peer.cold.left_on} left on"
        if peer.runs
        else "not run: fast_bitrix24 is not installed"
    )
    peer_note = peer.note() if peer.runs else "fast-bitrix24 not run (pip install -e '.[bench]')"
    rows = []
    for series, what in (
        (disable, f"`flowtui disable crm:*`, {flows} Bitrix24 flows ({on} on), 2 req/s burst 50"),
        (start, f"daemon start pass (`daemon --once`), same {flows} flows, a window on crm:*"),
    ):
        problems = []
        if series.warm > GOAL_RATIO * issue:
            problems.append(f"{series.warm / issue:.2f}× the issue's job")
        if series.worst("limited"):
            problems.append(f"{series.worst('limited')}× 503")
        if series.worst("left_on"):
            problems.append(f"{series.worst('left_on')} flows left on")
        if series.worst("code"):
            problems.append(f"exit code {series.worst('code')}")
        if not peer.runs:
            problems.append("no peer measured")
        elif series.warm >= peer.warm:
            problems.append("not ahead of the peer")
        rows.append(
            Row(
                what,
                series.figure(),
                goal,
                verdict(not problems, ", ".join(problems)),
                baseline,
                limit_text,
                ratio_to(series.warm, limit),
                f"{on} of {flows} flows on before each run. {series.note()}. {peer_note}.",
            )
        )
    return rows
