"""Desired state in a fresh process, as the engine's first pass computes it, then again on
the kept Schedule 10 s later, and later still (the engine's passes between reloads).

    python -m benchmarks.desired_probe FLOWS RULES PASSES

prints `{"governed", "rules", "cold", "warm": [seconds, ...], "cold_cpu", "warm_cpu"}`
(wall-clock seconds, and the CPU seconds this process used: on a busy machine the wall
clock also counts waiting for a CPU); the configuration is read before the clock starts
(reading is `flowtui check`'s cost, measured there).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

from benchmarks.workload import ORIGIN, inputs_for, offline_config
from flowtui.rules import Schedule

STEP = timedelta(seconds=10)


def main(argv: list[str] | None = None) -> int:
    flows, rules, passes = (int(a) for a in (argv if argv is not None else sys.argv[1:]))
    config, known = offline_config(flows, rules)
    inputs = inputs_for(config, ORIGIN)
    started, cpu = time.perf_counter(), time.process_time()
    schedule = Schedule(config, known)
    governed = len(schedule.desired(ORIGIN, inputs.priors, inputs.overrides))
    cold, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
    warm, warm_cpu = [], []
    for n in range(1, passes + 1):
        started, cpu = time.perf_counter(), time.process_time()
        schedule.desired(ORIGIN + n * STEP, inputs.priors, inputs.overrides)
        warm.append(time.perf_counter() - started)
        warm_cpu.append(time.process_time() - cpu)
    report = {
        "governed": governed,
        "rules": len(config.rules),
        "cold": cold,
        "warm": warm,
        "cold_cpu": cold_cpu,
        "warm_cpu": warm_cpu,
    }
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
