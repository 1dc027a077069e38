"""The memory soak: `flowtui emulate` and `flowtui daemon` as two processes of their own for
a stretch of wall time, the daemon's resident memory sampled from /proc every few seconds
and its audit table counted, while the daemon keeps working (SPEC §3 retention, issue 13).

The daemon governs every flow of the four accounts: `support:*`, `ops:*` and `crm:*` sit in
an enforced window all week; `studio:*` is disabled by a cycling window (`cycle_cron`,
`cycle_length`) and restored after it, so each cycle writes an intent and an outcome per
flow twice. Resyncs run every `resync` and re-read all of them. Faults on top: a share of
5xx answers on every platform, latency spikes, GASSAPI token expiry and "someone else"
re-enabling enforced flows (drift the next resync audits and repairs). The store prunes
audit rows older than `retention` (`settings.audit_retention`), set short so that it matters.

`run_soak(SoakPlan(...), directory, report=print)` → `SoakResult` with the samples, the
passes by trigger and the audit counts; `SoakResult.summary()` is the figures as text.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import tomli_w

from benchmarks.daemon_memory import completed_passes, rss_mb, slope, start_daemon
from benchmarks.emulated import SEED, Emulated
from flowtui.durations import parse_duration
from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import RunningEmulator
from flowtui.store.records import RetentionCounter
from flowtui.store.sqlite import DB_NAME
from tests.polling import wait_for

LIFTED = 10**6
TOKEN = "memory-soak-token"
PLATFORMS = ("diga", "gassapi", "runflow", "bitrix24")


@dataclass(frozen=True)
class SoakPlan:
    """What one soak runs: its size, its wall time and how busy the daemon is kept."""

    flows_per_platform: int
    minutes: float
    resync: str = "15s"
    retention: str = "5m"
    cycle_cron: str = "*/4 * * * *"
    cycle_length: str = "2m"
    sample_s: float = 5.0
    latency_ms: float = 5.0
    error_rate: float = 0.02
    tamper_every_s: float = 20.0  # "someone else" re-enables a few enforced flows this often
    tamper_flows: int = 5
    seed: int = 13


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    rss_mb: float
    audit_rows: int
    audit_written: int  # rows ever written (the highest id)
    expired_rows: int  # rows older than the retention, which pruning has yet to delete
    oldest_age_s: float  # age of the oldest audit row (0 when the table is empty)
    passes: int


@dataclass
class SoakResult:
    plan: SoakPlan
    flows: int
    samples: list[Sample] = field(default_factory=list)
    passes: Counter[str] = field(default_factory=Counter)  # by trigger
    changed: int = 0
    failed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # failed changes by reason

    @property
    def second_half(self) -> list[Sample]:
        return self.samples[len(self.samples) // 2 :]

    @property
    def spread_mb(self) -> float:
        """Highest minus lowest RSS over the second half."""
        rss = [s.rss_mb for s in self.second_half]
        return max(rss) - min(rss)

    @property
    def slope_mb_per_min(self) -> float:
        """Least-squares slope of RSS over the second half, in MB per minute."""
        half = self.second_half
        return slope([s.elapsed_s / 60 for s in half], [s.rss_mb for s in half])

    @property
    def retention_s(self) -> float:
        return parse_duration(self.plan.retention).total_seconds()

    @property
    def write_gap_s(self) -> float:
        """The longest stretch without an audit write, to the sampling's resolution."""
        longest = start = 0.0
        for before, after in zip(self.samples, self.samples[1:], strict=False):
            if after.audit_written != before.audit_written:
                start = after.elapsed_s
            longest = max(longest, after.elapsed_s - start)
        return longest + self.plan.sample_s

    @property
    def oldest_allowed_s(self) -> float:
        """How old an audit row may get: pruning runs on a write at most `interval` after
        the last prune (a second one takes what a full batch left), plus the longest quiet
        stretch without writes and the sampling's resolution."""
        interval = RetentionCounter(timedelta(seconds=self.retention_s)).interval
        assert interval is not None
        return self.retention_s + 2 * interval.total_seconds() + self.write_gap_s

    def summary(self) -> str:
        first = self.samples[: len(self.samples) // 2]
        half = self.second_half

        def span(samples: list[Sample]) -> str:
            rss = [s.rss_mb for s in samples]
            return f"{min(rss):.1f}–{max(rss):.1f} MB (mean {sum(rss) / len(rss):.1f})"

        passes = ", ".join(f"{trigger} {n}" for trigger, n in sorted(self.passes.items()))
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        return "\n".join(
            [
                f"memory soak: {self.flows} governed flows, "
                f"{self.samples[-1].elapsed_s / 60:.1f} min wall, {len(self.samples)} samples",
                f"passes: {sum(self.passes.values())} ({passes}); changed {self.changed}, "
                f"failed {self.failed}; faults: {faults}",
                "most common failures: "
                + "; ".join(f"{n}x {why}" for why, n in self.failures.most_common(4)),
                f"RSS first half {span(first)}; second half {span(half)}",
                f"RSS second half: spread {self.spread_mb:.2f} MB, "
                f"slope {self.slope_mb_per_min:+.3f} MB/min",
                f"audit rows: max {max(s.audit_rows for s in self.samples)} (second half max "
                f"{max(s.audit_rows for s in half)}), {self.samples[-1].audit_written} written, "
                f"retention {self.plan.retention}; rows past the retention at most "
                f"{max(s.expired_rows for s in self.samples)}; oldest row at most "
                f"{max(s.oldest_age_s for s in self.samples):.0f} s old (allowed "
                f"{self.oldest_allowed_s:.0f} s: retention, twice the prune interval and the "
                f"longest stretch without writes, {self.write_gap_s:.0f} s)",
            ]
        )


def sample_line(sample: Sample) -> str:
    return (
        f"t={sample.elapsed_s:7.1f}s rss={sample.rss_mb:7.2f}MB audit_rows={sample.audit_rows}"
        f" written={sample.audit_written} expired={sample.expired_rows}"
        f" oldest={sample.oldest_age_s:.0f}s passes={sample.passes}"
    )


# -- the two processes --------------------------------------------------------------------


def start_emulator(plan: SoakPlan) -> tuple[subprocess.Popen[str], Emulated]:
    """`flowtui emulate` on a free port, rate limits off; waits for its address."""
    command = [sys.executable, "-m", "flowtui", "emulate", "--port", "0", "--token", TOKEN]
    command += ["--flows", str(plan.flows_per_platform), "--seed", str(SEED)]
    command += ["--latency", f"{plan.latency_ms:g}", "--bitrix24-limit", "off"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first.startswith("flowtui emulator on "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {first}{process.communicate()[0]}")
    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
    config = EmulatorConfig(flows=plan.flows_per_platform, seed=SEED, token=TOKEN)
    running = RunningEmulator(base_url=first.split()[3], config=config)
    return process, Emulated(running, EmulatorAdmin(running.base_url, timeout=60))


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def write_config(plan: SoakPlan, emulated: Emulated, path: Path) -> None:
    now = datetime.now(UTC)
    accounts = emulated.accounts(emulated.ids("bitrix24"), rate=LIFTED, burst=LIFTED)
    for account in accounts.values():
        account["timeout"] = "5s"
    held = {
        "name": "held-all-week",
        "flows": ["support:*", "ops:*", "crm:*"],
        "start": now - timedelta(hours=1),
        "end": now + timedelta(days=7),
        "state": "disabled",
        "enforce": True,
        "after": "restore",
    }
    cycling = {
        "name": "cycling",
        "flows": ["studio:*"],
        "cron": plan.cycle_cron,
        "duration": plan.cycle_length,
        "state": "disabled",
        "enforce": True,
        "after": "restore",
    }
    settings = {"timezone": "UTC", "resync": plan.resync, "audit_retention": plan.retention}
    document = {"settings": settings, "accounts": accounts, "maintenance": [held, cycling]}
    path.write_text(tomli_w.dumps(document))


class DaemonLog:
    """Reads the daemon's JSON log lines on a thread: passes by trigger, changes, failures."""

    def __init__(self, daemon: subprocess.Popen[str], result: SoakResult) -> None:
        self.result = result
        self.lock = threading.Lock()
        assert daemon.stderr is not None
        self.thread = threading.Thread(target=self._read, args=(daemon.stderr,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[str]) -> None:
        for event in completed_passes(stream, self.result.failures):
            with self.lock:
                self.result.passes[str(event["trigger"])] += 1
                self.result.changed += int(event["changed"])
                self.result.failed += int(event["failed"])

    @property
    def passes(self) -> int:
        with self.lock:
            return sum(self.result.passes.values())


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- what the driver watches and does -----------------------------------------------------


@dataclass(frozen=True)
class AuditFigures:
    rows: int
    written: int
    expired: int
    oldest_age_s: float


def audit_figures(database: Path, retention: timedelta) -> AuditFigures:
    """The audit table's size, read through a read-only connection."""
    now = datetime.now(UTC)
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        rows, written, oldest = connection.execute(
            "SELECT count(*), coalesce(max(id), 0), min(timestamp) FROM audit"
        ).fetchone()
        cutoff = (now - retention).isoformat()
        (expired,) = connection.execute(
            "SELECT count(*) FROM audit WHERE timestamp < ?", (cutoff,)
        ).fetchone()
    finally:
        connection.close()
    age = 0.0 if oldest is None else (now - datetime.fromisoformat(oldest)).total_seconds()
    return AuditFigures(rows, written, expired, age)


class Faults:
    """The faults of one soak: 5xx on every platform all along, and now and then a latency
    spike, an expired GASSAPI token or enforced flows re-enabled by someone else."""

    def __init__(self, plan: SoakPlan, emulated: Emulated, result: SoakResult) -> None:
        self.plan = plan
        self.admin = emulated.admin
        self.rng = random.Random(plan.seed)
        self.counts = result.faults
        self.held = [("gassapi", i) for i in emulated.ids("gassapi")]
        self.held += [("bitrix24", i) for i in emulated.ids("bitrix24")]
        self.spiked: list[str] = []
        for platform in PLATFORMS:
            self.admin.set_fault(platform, error_rate=plan.error_rate)

    def tick(self) -> None:
        for platform in self.spiked:
            self.admin.set_fault(platform, latency_ms=self.plan.latency_ms)
        self.spiked = [p for p in PLATFORMS if self.rng.random() < 0.1]
        for platform in self.spiked:
            self.admin.set_fault(platform, latency_ms=self.plan.latency_ms * 10)
            self.counts["latency spike"] += 1
        if self.rng.random() < 0.1:
            self.admin.expire_tokens("gassapi")
            self.counts["token expiry"] += 1
        for platform, flow_id in self.rng.sample(self.held, self.plan.tamper_flows):
            self.admin.set_flow(platform, flow_id, active=True)
            self.counts["foreign change"] += 1


def run_soak(plan: SoakPlan, directory: Path, report: Callable[[str], None] = print) -> SoakResult:
    """Run both processes for `plan.minutes` of wall time; `report` gets each sample line."""
    emulator, emulated = start_emulator(plan)
    result = SoakResult(plan, flows=plan.flows_per_platform * len(PLATFORMS))
    try:
        write_config(plan, emulated, directory / "schedules.toml")
        faults = Faults(plan, emulated, result)
        daemon = start_daemon(emulated, directory)
        try:
            log = DaemonLog(daemon, result)
            wait_for(lambda: log.passes or daemon.poll() is not None, "the start pass", 600)
            assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
            _sample(plan, daemon, log, faults, result, directory / "state" / DB_NAME, report)
        finally:
            stop(daemon)
    finally:
        emulated.admin.close()
        stop(emulator)
    return result


def _sample(
    plan: SoakPlan,
    daemon: subprocess.Popen[str],
    log: DaemonLog,
    faults: Faults,
    result: SoakResult,
    database: Path,
    report: Callable[[str], None],
) -> None:
    """Sample every `plan.sample_s` seconds (and tamper every `tamper_every_s`) until the
    plan's wall time is over, counted from the end of the start pass."""
    start = time.monotonic()
    end = start + plan.minutes * 60
    next_tamper = start + plan.tamper_every_s
    while (now := time.monotonic()) < end:
        assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
        if now >= next_tamper:
            faults.tick()
            next_tamper += plan.tamper_every_s
        audit = audit_figures(database, timedelta(seconds=result.retention_s))
        sample = Sample(
            now - start,
            rss_mb(daemon.pid),
            audit.rows,
            audit.written,
            audit.expired,
            audit.oldest_age_s,
            log.passes,
        )
        result.samples.append(sample)
        report(sample_line(sample))
        time.sleep(max(0.0, start + len(result.samples) * plan.sample_s - time.monotonic()))
