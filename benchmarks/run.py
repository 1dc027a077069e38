"""Run the benchmarks, print the table and write benchmarks/results.md.

    .venv/bin/python -m benchmarks.run            # full sizes (the goals' sizes), ~minutes
    .venv/bin/python -m benchmarks.run --quick    # smaller sizes, for iteration
    .venv/bin/python -m benchmarks.run --only refresh --only plan

Exit code 0 when every measure ran (a missed goal is a finding, reported in the table),
1 when a measure crashed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    app_terminal,
    bitrix_disable,
    boundary,
    daemon_memory,
    desired_state,
    plan_week,
    refresh,
    startup,
)
from benchmarks.bench import Bench
from benchmarks.harness import SIZES, Machine, Row, markdown, table_of, text_table

MEASURES: dict[str, Callable[[Bench], list[Row]]] = {
    "refresh": refresh.measure,
    "disable": bitrix_disable.measure,
    "startup": startup.measure,
    "desired": desired_state.measure,
    "plan": plan_week.measure,
    "app": app_terminal.measure,
    "boundary": boundary.measure,
    "daemon": daemon_memory.measure,
}
RESULTS = Path(__file__).resolve().parent / "results.md"
README = Path(__file__).resolve().parent.parent / "README.md"
README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def write_readme(table: str, machine: Machine, path: Path = README) -> None:
    """The run's table between the README's markers, under the machine it ran on."""
    text = path.read_text()
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    summary = (
        f"Last full run: {machine.date}, {machine.cpus} CPUs, load average "
        f"{machine.load:.2f} → {machine.load_after:.2f} ([notes](benchmarks/results.md))"
        + (f"; {machine.saturated}." if machine.saturated else ".")
    )
    block = f"{README_START}\n{summary}\n\n{table}\n{README_END}"
    path.write_text(head + block + tail)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--quick", action="store_const", const="quick", dest="sizes", help="= --sizes quick"
    )
    parser.add_argument("--sizes", choices=sorted(SIZES), help="full (default), quick, smoke")
    parser.set_defaults(sizes="full")
    parser.add_argument("--only", action="append", choices=list(MEASURES), metavar="MEASURE")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    return parser.parse_args(argv)


def _run_one(name: str, bench: Bench) -> tuple[list[Row], bool]:
    print(f"… {name}", file=sys.stderr, flush=True)
    try:
        return MEASURES[name](bench), True
    except Exception as exc:  # one broken measure must not lose the others' figures
        traceback.print_exc()
        return [Row(name, "—", "—", f"ERROR: {type(exc).__name__}: {exc}")], False


def _compile_package() -> None:
    """Write flowtui's bytecode first, as an installed package has it: otherwise, under
    PYTHONDONTWRITEBYTECODE, every command run from a shell would compile each module."""
    package = Path(__file__).resolve().parent.parent / "flowtui"
    compileall.compile_dir(package, quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    _compile_package()
    sizes = SIZES[args.sizes]
    machine = Machine.here()
    rows: list[Row] = []
    ok = True
    bench = Bench(sizes)
    try:
        for name in args.only or MEASURES:
            found, ran = _run_one(name, bench)
            rows += found
            ok = ok and ran
    finally:
        bench.close()
    command = "python -m benchmarks.run" + (
        f" --sizes {sizes.name}" if sizes.name != "full" else ""
    )
    machine = replace(machine, load_after=os.getloadavg()[0])
    print(text_table(rows))
    report = markdown(rows, machine, sizes, command)
    if args.only and args.output == RESULTS:  # a partial run never replaces the full table
        print("not written: --only runs print their rows (use --output to keep them)")
        return 0 if ok else 1
    args.output.write_text(report)
    if sizes.name == "full" and args.output == RESULTS and not args.only:
        write_readme(table_of(report), machine)
    print(f"written to {args.output}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
