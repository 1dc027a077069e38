"""What every measure shares: the sizes of a run, a result row, timing, and the report.

A measure is a function `measure(bench) -> list[Row]`. A row carries its figure (cold
beside warm where both exist), the baseline measured in the same run, the physical limit
(the critical path of dependent requests × the emulator's latency, or the platform's rate
limit) with the figure's ratio to it, the goal and a verdict. Every word of a row and of
its note is built from what the run measured; a measure that cannot run says why.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class Sizes:
    """How big each measure runs; goals are stated for `FULL`."""

    name: str
    refresh_flows: int = 1000
    converge_flows: int = 1000
    desired_flows: int = 10_000
    rules: int = 1000
    plan_days: int = 7
    app_flows: int = 10_000
    key_presses: int = 40
    boundary_samples: int = 100
    daemon_flows: int = 10_000
    resyncs: int = 30  # long enough for a flat tail (issue 13)
    repeats: int = 5
    latency_ms: float = 50.0  # the emulator's latency per request (SPEC §7)


FULL = Sizes("full")
QUICK = Sizes(
    "quick",
    refresh_flows=200,
    converge_flows=200,
    desired_flows=2000,
    rules=200,
    app_flows=1000,
    key_presses=20,
    boundary_samples=20,
    daemon_flows=1000,
    resyncs=10,
    repeats=3,
)
SMOKE = replace(
    QUICK,
    name="smoke",
    refresh_flows=20,
    converge_flows=20,
    desired_flows=100,
    rules=10,
    plan_days=1,
    app_flows=40,
    key_presses=3,
    boundary_samples=2,
    daemon_flows=40,
    resyncs=2,
    repeats=1,
    latency_ms=5.0,
)
SIZES = {sizes.name: sizes for sizes in (FULL, QUICK, SMOKE)}

MET = "met"
MISSED = "MISSED"


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    measure: str
    figure: str
    goal: str
    verdict: str
    baseline: str = "—"
    limit: str = "—"
    ratio: str = "—"
    note: str = ""

    @property
    def missed(self) -> bool:
        return self.verdict.startswith(MISSED)


def verdict(ok: bool, why: str = "") -> str:
    """`met`, or `MISSED` with what missed (built by the measure from its figures)."""
    return MET if ok else f"{MISSED}: {why}" if why else MISSED


def not_measured(measure: str, goal: str, why: str) -> Row:
    return Row(measure, "—", goal, f"not measured: {why}")


def ratio_to(figure: float, limit: float) -> str:
    return f"{figure / limit:.2f}× limit" if limit > 0 else "—"


def seconds(value: float) -> str:
    """A duration for humans: ms below a second, s above."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 page`, `7 pages`; `plural` where adding an s is wrong."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def times(ratio: float) -> str:
    return f"{ratio:.1f}×"


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of at least one sample."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


class Stopwatch:
    """`elapsed` seconds of a `with` block, on the monotonic high-resolution clock."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    @contextmanager
    def running(self) -> Iterator[Stopwatch]:
        started = time.perf_counter()
        try:
            yield self
        finally:
            self.elapsed = time.perf_counter() - started


def timed(action: Callable[[], object]) -> float:
    watch = Stopwatch()
    with watch.running():
        action()
    return watch.elapsed


@dataclass(frozen=True)
class Machine:
    cpus: int
    python: str
    system: str
    date: str
    load: float  # 1-minute load average when the run started: other work skews figures
    load_after: float = 0.0  # ... and when it ended

    @property
    def saturated(self) -> str:
        """A warning when other work kept more processes running than there are CPUs."""
        busiest = max(self.load, self.load_after)
        if busiest <= self.cpus:
            return ""
        return (
            f"other work kept a load of up to {busiest:.1f} on {self.cpus} CPUs during this "
            "run: its times are inflated"
        )

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpus=os.cpu_count() or 1,
            python=platform.python_version(),
            system=f"{platform.system()} {platform.release()} {platform.machine()}",
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            load=os.getloadavg()[0],
        )


COLUMNS = ("measure", "figure", "baseline (same run)", "limit", "ratio", "goal", "verdict")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.measure, row.figure, row.baseline, row.limit, row.ratio, row.goal, row.verdict)


def text_table(rows: Sequence[Row]) -> str:
    """The table as aligned plain text, for the terminal."""
    lines = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(rows: Sequence[Row], machine: Machine, sizes: Sizes, command: str) -> str:
    """benchmarks/results.md: machine, date, the table, each row's notes, the goals met."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` — do not edit by hand.",
        "",
        f"- date: {machine.date}",
        f"- machine: {machine.cpus} CPUs, {machine.system}, 1-minute load average "
        f"{machine.load:.2f} at the start and {machine.load_after:.2f} at the end",
        *([f"- **{machine.saturated}**"] if machine.saturated else []),
        f"- python: {machine.python}",
        f"- emulator latency: {sizes.latency_ms:g} ms a request",
        f"- sizes: `{sizes.name}`" + ("" if sizes is FULL else " (smaller than the goals assume)"),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_escape(c) for c in _cells(row)) + " |" for row in rows]
    notes = [row for row in rows if row.note]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- **{row.measure}**: {row.note}" for row in notes]
    met = [row for row in rows if row.verdict == MET]
    missed = [row for row in rows if row.missed]
    lines += ["", "## Goals", ""]
    lines += [f"- met ({len(met)}): " + ("; ".join(r.measure for r in met) or "none")]
    lines += [f"- missed ({len(missed)}): " + ("; ".join(r.measure for r in missed) or "none")]
    return "\n".join(lines) + "\n"


def table_of(report: str) -> str:
    """The markdown table of a report written by `markdown`."""
    return "\n".join(line for line in report.splitlines() if line.startswith("|"))
