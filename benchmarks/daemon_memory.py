"""Resident memory of `flowtui daemon` governing N flows over the four accounts, after each
of its resync passes.

The daemon runs as the real command in its own process (`python -m flowtui daemon
--log-format json`), so its memory is its own; the emulator stays in this process. A
maintenance window open all week governs every flow of every account (`account:*`,
enforced, restore afterwards), so each pass lists or reads all of them. Resync passes are
recognised by their `pass_completed` log line; the RSS is read from /proc at that moment.
The rate limits are lifted (Bitrix24's on both sides, emulator bucket and account rate;
Runflow's in the emulator): at 2 req/s a pass over 2,500 Bitrix24 flows would take 25 s,
and at Runflow's 10 req/s a start pass changing 1,500 of its flows minutes; either would
measure the limit, not memory. The latency stays.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import tomli_w

from benchmarks.bench import Bench
from benchmarks.emulated import ACCOUNTS, Emulated
from benchmarks.harness import Row, verdict

TARGET_MB = 200.0
FLAT_MB = 2.0  # "no growth": the fitted RSS growth over the second half of resyncs is under this
DEADLINE_S = 1800.0  # 30 resyncs at 10,000 flows on a loaded machine
LIFTED = 10**6


@dataclass(frozen=True)
class Sample:
    trigger: str
    rss_mb: float
    changed: int
    failed: int


def rss_mb(pid: int) -> float:
    """The resident set size of process `pid` (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of `ys` over `xs` (at least two distinct xs)."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def resync_seconds(flows: int) -> int:
    """Long enough for a pass to end before the next is due (a pass over 10,000 flows
    takes a few seconds on two cores)."""
    return max(1, flows // 2000)


def write_config(emulated: Emulated, path: Path, flows: int) -> None:
    now = datetime.now(UTC)
    window = {
        "name": "all-week",
        "flows": [f"{account}:*" for account in ACCOUNTS.values()],
        "start": now - timedelta(hours=1),
        "end": now + timedelta(days=7),
        "state": "disabled",
        "enforce": True,
        "after": "restore",
    }
    accounts = emulated.accounts(emulated.ids("bitrix24"), rate=LIFTED, burst=LIFTED)
    settings = {"resync": f"{resync_seconds(flows)}s"}
    path.write_text(
        tomli_w.dumps({"settings": settings, "accounts": accounts, "maintenance": [window]})
    )


def completed_passes(stream: Iterable[str], failures: Counter[str]) -> Iterator[dict[str, Any]]:
    """The `pass_completed` events among the daemon's JSON log lines; `failures` counts the
    failed changes on the way, by account and reason."""
    for line in stream:
        try:
            event: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "flow_changed" and event.get("error"):
            account = str(event.get("flow", "")).split(":", 1)[0]
            failures[f"{account}: {str(event['error'])[:60]}"] += 1
        if event.get("event") == "pass_completed":
            yield event


def _passes(daemon: subprocess.Popen[str], failures: Counter[str]) -> Iterator[Sample]:
    """Each pass as it completes, with the daemon's RSS at that moment."""
    assert daemon.stderr is not None
    for event in completed_passes(daemon.stderr, failures):
        yield Sample(event["trigger"], rss_mb(daemon.pid), event["changed"], event["failed"])


def start_daemon(emulated: Emulated, directory: Path) -> subprocess.Popen[str]:
    """`flowtui daemon` on `directory`'s schedules.toml and state/, logging JSON lines to a
    pipe on its stderr."""
    command = [sys.executable, "-m", "flowtui", "--config", str(directory / "schedules.toml")]
    command += ["--state-dir", str(directory / "state"), "daemon", "--log-format", "json"]
    return subprocess.Popen(
        command,
        env={**os.environ, **emulated.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_daemon(
    emulated: Emulated, directory: Path, flows: int, resyncs: int, failures: Counter[str]
) -> list[Sample]:
    write_config(emulated, directory / "schedules.toml", flows)
    daemon = start_daemon(emulated, directory)
    watchdog = threading.Timer(DEADLINE_S, daemon.kill)
    watchdog.start()
    samples: list[Sample] = []
    try:
        for sample in _passes(daemon, failures):
            samples.append(sample)
            if sum(1 for s in samples if s.trigger == "resync") >= resyncs:
                break
    finally:
        watchdog.cancel()
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.communicate()
    return samples


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    per_platform = max(1, sizes.daemon_flows // len(ACCOUNTS))
    emulated = bench.emulated(per_platform)
    emulated.admin.set_fault("bitrix24", bucket_threshold=LIFTED, bucket_drain_per_s=LIFTED)
    emulated.admin.set_fault("runflow", rate_limit_per_s=None)
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        failures: Counter[str] = Counter()
        samples = run_daemon(emulated, Path(tmp), sizes.daemon_flows, sizes.resyncs, failures)
    resyncs = [s for s in samples if s.trigger == "resync"]
    measure_name = (
        f"daemon RSS, {per_platform * len(ACCOUNTS)} flows over 4 accounts, "
        f"after {sizes.resyncs} resyncs"
    )
    half = sizes.resyncs // 2
    target = f"< {TARGET_MB:g} MB, no growth resync {half}→{sizes.resyncs}"
    if len(resyncs) < sizes.resyncs:
        return [Row(measure_name, "—", target, verdict(False, f"stopped after {len(resyncs)}"))]
    tail = resyncs[half - 1 :]
    per_pass = slope([float(n) for n in range(len(tail))], [s.rss_mb for s in tail])
    growth = per_pass * (len(tail) - 1)
    last = resyncs[-1]
    series = ", ".join(f"{s.rss_mb:.0f}" for s in samples)
    first = samples[0]
    note = (
        f"RSS in MB after each pass (start, then resyncs every "
        f"{resync_seconds(sizes.daemon_flows)} s): {series}; the start pass changed "
        f"{first.changed} flows ({first.failed} failed). Over resyncs {half}→{sizes.resyncs} "
        f"the least-squares slope is {per_pass:+.3f} MB per pass ({growth:+.2f} MB fitted "
        f"growth; growth counts as none below {FLAT_MB:g} MB, the last resync is "
        f"{last.rss_mb - tail[0].rss_mb:+.1f} MB from resync {half}). Rate limits were "
        f"lifted (Bitrix24's bucket to {LIFTED} req/s on "
        f"both sides, Runflow's off): at their rates a pass changing {first.changed} flows "
        f"would measure the limits, not memory; each request waited "
        f"{emulated.latency_s * 1000:g} ms."
    )
    if failures:
        common = "; ".join(f"{n}× {reason}" for reason, n in failures.most_common(3))
        note += f" Most common failed changes over all passes: {common}."
    return [
        Row(
            measure_name,
            f"{last.rss_mb:.1f} MB, {per_pass:+.3f} MB/pass over resyncs {half}→{sizes.resyncs}",
            target,
            verdict(last.rss_mb < TARGET_MB and growth < FLAT_MB, f"{last.rss_mb:.0f} MB"),
            limit="— (memory)",
            note=note,
        )
    ]
