"""The benchmark command still runs end to end (tiny sizes), so it cannot rot. Its
figures are not checked here: goals hold only at full size, on `python -m benchmarks.run`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MEASURES = (
    "refresh",
    "all four at once",
    "`flowtui disable crm:*`",
    "daemon start pass",
    "`flowtui --help`",
    "`flowtui check`",
    "desired state",
    "plan",
    "app",
    "boundary",
    "daemon RSS",
)


@pytest.mark.slow
def test_the_bench_command_runs_every_measure_and_writes_the_table(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--sizes", "smoke", "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    written = output.read_text()
    header = "| measure | figure | baseline (same run) | limit | ratio | goal | verdict |"
    assert header in written
    assert "python:" in written
    assert "CPUs" in written
    for measure in MEASURES:
        assert measure in written
        assert measure in done.stdout
    assert "ERROR" not in written
    assert "## Goals" in written
