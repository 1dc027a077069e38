"""`flowtui plan` over a week of R rules: the transitions it computes
(`Schedule(config).transitions`, wildcards kept as `account:*` since plan reads no
platform), and the whole command in-process (load the file, compute, print JSON)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import tomli_w
from click.testing import CliRunner

from benchmarks.bench import Bench
from benchmarks.harness import Row, median, seconds, verdict
from benchmarks.workload import OFFLINE_ACCOUNTS, ORIGIN, rules_data, synthetic_ids
from flowtui.cli import main
from flowtui.config import load_config
from flowtui.rules import Schedule

TARGET_S = 1.0


def _write_workload(path: Path, flows: int, rules: int) -> None:
    ids = synthetic_ids(list(OFFLINE_ACCOUNTS), flows)
    accounts = {name: dict(account) for name, account in OFFLINE_ACCOUNTS.items()}
    accounts["crm"]["flow_ids"] = [int(i) for i in ids["crm"]]
    data = {"settings": {"timezone": "Europe/Berlin"}, "accounts": accounts}
    path.write_text(tomli_w.dumps(data | rules_data(ids, rules)))


def _command(path: Path, state_dir: Path, hours: float) -> tuple[float, int]:
    args = ["--config", str(path), "--state-dir", str(state_dir), "plan"]
    args += ["--from", ORIGIN.isoformat(), "--hours", str(hours), "--json"]
    started = time.perf_counter()
    result = CliRunner().invoke(main, args, env={"K": "unused"})
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(f"flowtui plan exited {result.exit_code}: {result.output[-300:]}")
    return elapsed, result.output.count("\n")


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    span = timedelta(days=sizes.plan_days)
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        path = Path(tmp) / "schedules.toml"
        _write_workload(path, sizes.desired_flows, sizes.rules)
        started = time.perf_counter()
        config = load_config(path)
        load_s = time.perf_counter() - started
        computed: list[float] = []
        found = 0
        for _ in range(sizes.repeats):
            started = time.perf_counter()
            found = len(Schedule(config).transitions(ORIGIN, ORIGIN + span))
            computed.append(time.perf_counter() - started)
        command = [_command(path, Path(tmp) / "state", span.total_seconds() / 3600)]
        command += [_command(path, Path(tmp) / "state", span.total_seconds() / 3600)]
    compute_s = median(computed)
    command_s = min(elapsed for elapsed, _ in command)
    measure_name = f"plan {sizes.plan_days} days, {len(config.rules)} rules"
    workload = f"{found} transitions over {sizes.desired_flows} flows"
    return [
        Row(
            measure_name + ": compute",
            seconds(compute_s),
            f"< {seconds(TARGET_S)}",
            verdict(compute_s < TARGET_S),
            note=f"Schedule(config).transitions, median of {sizes.repeats}; {workload}.",
        ),
        Row(
            measure_name + ": `flowtui plan --json` command",
            seconds(command_s),
            f"< {seconds(TARGET_S)}",
            verdict(command_s < TARGET_S),
            note=(
                "the click command in-process (read and validate the file, compute, print "
                f"{command[0][1]} JSON lines), best of 2; Python start-up and imports "
                f"excluded. Split: reading the file {seconds(load_s)}, computing "
                f"{seconds(compute_s)}, the rest (formatting, printing) "
                f"~{seconds(max(0.0, command_s - load_s - compute_s))}. Profiled (cProfile): "
                "a per-transition scan of the rules for its zone (2.7 s) and one write per "
                "line were fixed in flowtui/cli/plan.py; what remains is spread over the "
                "rules engine, JSON encoding and datetime formatting, with no single hot spot."
            ),
        ),
    ]
