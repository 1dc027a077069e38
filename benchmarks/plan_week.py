"""`flowtui plan` over a week of R rules: the transitions it computes in-process
(`Schedule(config).transitions`, wildcards kept as `account:*` since plan reads no
platform; the first computation in this process beside later ones, which find the rules'
module caches filled), and the whole `flowtui plan --json` command from a shell (start-up,
reading the file, computing, printing), cold beside warm. The goal is issue 14's: the
command within 0.5 s."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import tomli_w

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.harness import Row, median, seconds, verdict
from benchmarks.workload import OFFLINE_ACCOUNTS, ORIGIN, rules_data, synthetic_ids
from flowtui.config import load_config
from flowtui.rules import Schedule

GOAL_S = 0.5


def _write_workload(path: Path, flows: int, rules: int) -> None:
    ids = synthetic_ids(list(OFFLINE_ACCOUNTS), flows)
    accounts = {name: dict(account) for name, account in OFFLINE_ACCOUNTS.items()}
    accounts["crm"]["flow_ids"] = [int(i) for i in ids["crm"]]
    data = {"settings": {"timezone": "Europe/Berlin"}, "accounts": accounts}
    path.write_text(tomli_w.dumps(data | rules_data(ids, rules)))


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    span = timedelta(days=sizes.plan_days)
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        path = Path(tmp) / "schedules.toml"
        _write_workload(path, sizes.desired_flows, sizes.rules)
        config = load_config(path)
        computed: list[float] = []
        found = 0
        for _ in range(sizes.repeats):
            started = time.perf_counter()
            found = len(Schedule(config).transitions(ORIGIN, ORIGIN + span))
            computed.append(time.perf_counter() - started)
        command = shell.flowtui(
            "--config", str(path), "--state-dir", str(Path(tmp) / "state"), "plan",
            "--from", ORIGIN.isoformat(), "--hours", str(span.total_seconds() / 3600), "--json",
        )  # fmt: skip
        runs = [shell.run(command, {"K": "unused"}) for _ in range(max(2, sizes.repeats))]
    first, compute_s = computed[0], median(computed[1:] or computed)
    cold, warm = runs[0].seconds, median([run.seconds for run in runs[1:]])
    lines = runs[0].stdout.count("\n")
    name = f"plan {sizes.plan_days} days, {len(config.rules)} rules"
    return [
        Row(
            name + ": compute (in-process)",
            f"first {seconds(first)} · later {seconds(compute_s)}",
            f"< {seconds(GOAL_S)}",
            verdict(first < GOAL_S, f"first {seconds(first)}"),
            limit="— (no I/O)",
            note=(
                f"Schedule(config).transitions, {sizes.repeats} in one process: "
                f"{', '.join(seconds(c) for c in computed)}; {found} transitions over "
                f"{sizes.desired_flows} flows."
            ),
        ),
        Row(
            name + ": `flowtui plan --json` from a shell",
            f"cold {seconds(cold)} · warm {seconds(warm)}",
            f"warm < {seconds(GOAL_S)}",
            verdict(warm < GOAL_S, f"warm {seconds(warm)}"),
            limit="— (no I/O)",
            note=(
                f"{len(runs)} runs: {', '.join(seconds(r.seconds) for r in runs)}; "
                f"{lines} JSON lines."
            ),
        ),
    ]
