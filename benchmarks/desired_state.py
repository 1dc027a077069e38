"""Desired state of N flows under R rules (benchmarks/workload.py), each run in a fresh
process (benchmarks/desired_probe.py): cold is the engine's first pass (build the Schedule,
compute every flow's desired state), warm a later pass on the kept Schedule. Pure CPU: no
request, so no physical limit to compare with."""

from __future__ import annotations

import json

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.harness import Row, median, seconds, verdict

COLD_GOAL_S = 0.100
WARM_GOAL_S = 0.010
WARM_PASSES = 5


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    args = (str(sizes.desired_flows), str(sizes.rules), str(WARM_PASSES))
    reports = [
        json.loads(shell.run(shell.python("-m", "benchmarks.desired_probe", *args)).stdout)
        for _ in range(sizes.repeats)
    ]
    cold = median([r["cold"] for r in reports])
    warm = median([t for r in reports for t in r["warm"]])
    cold_cpu = median([r["cold_cpu"] for r in reports])
    warm_cpu = median([t for r in reports for t in r["warm_cpu"]])
    problems = [f"cold {seconds(cold)}"] if cold > COLD_GOAL_S else []
    problems += [f"warm {seconds(warm)}"] if warm > WARM_GOAL_S else []
    first = reports[0]
    return [
        Row(
            f"desired state, {sizes.desired_flows} flows × {first['rules']} rules",
            f"cold {seconds(cold)} · warm {seconds(warm)}",
            f"cold ≤ {seconds(COLD_GOAL_S)}, warm ≤ {seconds(WARM_GOAL_S)}",
            verdict(not problems, ", ".join(problems)),
            limit="— (no I/O)",
            note=(
                f"{len(reports)} fresh processes; cold (Schedule + desired): "
                f"{', '.join(seconds(r['cold']) for r in reports)}; warm: median of "
                f"{WARM_PASSES} passes 10 s apart in each; {first['governed']} flows governed; "
                f"CPU time (medians): cold {seconds(cold_cpu)}, warm {seconds(warm_cpu)}."
            ),
        )
    ]
