"""The app's pty measure runs end to end at smoke size and builds its rows from the run:
a figure, the goal, and a verdict that agrees with the figure."""

from __future__ import annotations

import re

import pytest

from benchmarks.app_terminal import KEY_TARGET_S, PAINT_TARGET_S, PRESSES_PER_SIZE, measure
from benchmarks.bench import Bench
from benchmarks.harness import MET, MISSED, SMOKE

FIGURE = re.compile(r"(?:p95 )?([\d.]+) (ms|s)$")


def figure_seconds(figure: str) -> float:
    found = FIGURE.match(figure)
    assert found is not None, figure
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


@pytest.mark.slow
def test_the_pty_measure_gives_first_paint_and_key_latency_rows() -> None:
    bench = Bench(SMOKE)
    try:
        paint, keys = measure(bench)
    finally:
        bench.close()
    for row, target, goal in (
        (paint, PAINT_TARGET_S, "< 1.50 s"),
        (keys, KEY_TARGET_S, "p95 < 50.0 ms"),
    ):
        assert row.goal == goal
        assert row.limit == "—"
        value = figure_seconds(row.figure)
        assert value > 0
        expected = MET if value < target else f"{MISSED}: {row.figure}"
        assert row.verdict == expected
    assert re.search(r", \d+ flows$", paint.measure)
    assert f"{SMOKE.key_presses * PRESSES_PER_SIZE} `down` presses" in keys.note
