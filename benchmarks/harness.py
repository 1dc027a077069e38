"""What every measure shares: the sizes of a run, a result row, timing, and the report.

A measure is a function `measure(bench) -> list[Row]`; each row carries its figure, the
baseline measured in the same run (or "—"), the ratio between them, the target, and a
verdict. A measure that cannot run (the code it measures has not landed) returns one row
whose verdict starts with "not measured:".
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
    """How big each measure runs; targets are stated for `FULL`."""

    name: str
    refresh_flows: int = 1000
    converge_flows: int = 1000
    desired_flows: int = 10_000
    rules: int = 1000
    plan_days: int = 7
    app_flows: int = 10_000
    app_baseline_flows: int = 1000
    key_presses: int = 40
    boundary_samples: int = 100
    daemon_flows: int = 10_000
    resyncs: int = 10
    repeats: int = 5


FULL = Sizes("full")
QUICK = Sizes(
    "quick",
    refresh_flows=200,
    converge_flows=200,
    desired_flows=2000,
    rules=200,
    app_flows=1000,
    app_baseline_flows=100,
    key_presses=20,
    boundary_samples=20,
    daemon_flows=1000,
    resyncs=6,
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
    app_baseline_flows=10,
    key_presses=3,
    boundary_samples=2,
    daemon_flows=40,
    resyncs=2,
    repeats=1,
)
SIZES = {sizes.name: sizes for sizes in (FULL, QUICK, SMOKE)}

MET = "met"
MISSED = "MISSED"


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    measure: str
    figure: str
    target: str
    verdict: str
    baseline: str = "—"
    ratio: str = "—"
    note: str = ""

    @property
    def missed(self) -> bool:
        return self.verdict == MISSED


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


def not_measured(measure: str, target: str, why: str) -> Row:
    return Row(measure, "—", target, f"not measured: {why}")


def seconds(value: float) -> str:
    """A duration for humans: ms below a second, s above."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


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

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpus=os.cpu_count() or 1,
            python=platform.python_version(),
            system=f"{platform.system()} {platform.release()} {platform.machine()}",
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            load=os.getloadavg()[0],
        )


COLUMNS = ("measure", "figure", "baseline (same run)", "ratio", "target", "verdict")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.measure, row.figure, row.baseline, row.ratio, row.target, row.verdict)


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
    """benchmarks/results.md: machine, date, the table, then each row's notes."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` — do not edit by hand.",
        "",
        f"- date: {machine.date}",
        f"- machine: {machine.cpus} CPUs, {machine.system}, load average "
        f"{machine.load:.2f} at the start (other processes share the CPUs)",
        f"- python: {machine.python}",
        f"- sizes: `{sizes.name}`"
        + ("" if sizes is FULL else " (smaller than the targets assume; run without --quick)"),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_escape(c) for c in _cells(row)) + " |" for row in rows]
    notes = [row for row in rows if row.note]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- **{row.measure}**: {row.note}" for row in notes]
    return "\n".join(lines) + "\n"
