"""Start-up from a shell: `flowtui --help`, and `flowtui check` on the repository's example
schedules.toml (its secret variables set, so it passes). The limit is the interpreter
itself: `python -c pass` of the same environment, a process that imports nothing of ours.
Cold is the first run of the measure; warm the median of the runs after it.

benchmarks.run compiles flowtui's bytecode before any measure, as `pip install` does: in a
checkout run with PYTHONDONTWRITEBYTECODE every start would otherwise compile flowtui's
modules again, a cost no installed copy pays (about a fifth of `check`)."""

from __future__ import annotations

import tomllib

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.harness import Row, median, ratio_to, seconds, verdict

RUNS = 11  # at full size; start-up varies from run to run more than the other measures
EXAMPLE = shell.REPO / "schedules.toml"
GOALS = {"--help": 0.150, "check": 0.250}


def example_env() -> dict[str, str]:
    """A placeholder for every secret variable the example names (check only checks they
    are set; nothing is contacted)."""
    accounts = tomllib.loads(EXAMPLE.read_text())["accounts"]
    names = {
        value
        for account in accounts.values()
        for key, value in account.items()
        if key.endswith("_env")
    }
    return {name: "https://portal.example/rest/1/placeholder/" for name in names}


def _timed(command: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    return [shell.run(command, env).seconds for _ in range(runs)]


def measure(bench: Bench) -> list[Row]:
    runs = RUNS if bench.sizes.repeats >= 5 else max(2, bench.sizes.repeats + 1)
    floor = median(_timed(shell.python("-c", "pass"), runs))
    commands = {
        "--help": shell.flowtui("--help"),
        "check": shell.flowtui("--config", str(EXAMPLE), "check"),
    }
    rows = []
    for name, command in commands.items():
        times = _timed(command, runs, example_env())
        cold, warm = times[0], median(times[1:])
        goal = GOALS[name]
        rows.append(
            Row(
                f"`flowtui {name}` from a shell" + (" (the example)" if name == "check" else ""),
                f"cold {seconds(cold)} · warm {seconds(warm)}",
                f"warm ≤ {seconds(goal)}",
                verdict(warm <= goal, f"warm {seconds(warm)}"),
                limit=f"{seconds(floor)}: `python -c pass`",
                ratio=ratio_to(warm, floor),
                note=f"{runs} runs: {', '.join(seconds(t) for t in times)}.",
            )
        )
    return rows
