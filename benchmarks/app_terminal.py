"""The app where a person meets it: `flowtui tui` in a real pseudo-terminal, against
`flowtui emulate` running as another process, its screen read back through pyte.

First paint: from spawning `flowtui tui` to the screen's header saying `N flows` with the
first read complete (no `loading…`): every row is in the table then. Flows are split
3:3:3:1 over Diga, GASSAPI, Runflow and Bitrix24 (`split`).

Key latency: with the table refreshing every REFRESH (a live read of every account, the
embedded scheduler running), `down` is typed PRESSES_PER_SIZE × key_presses times at
random gaps, so that presses fall before, during and after refreshes; each sample runs
from writing the key to the pty to the arrival of the output that moved the highlighted
row. Run on its own:

    .venv/bin/python -m benchmarks.app_terminal [--sizes quick]
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

import tomli_w

from benchmarks.bench import Bench
from benchmarks.harness import SIZES, Row, median, percentile, seconds, text_table, verdict
from benchmarks.terminal import Terminal
from flowtui.emulator.admin_client import EmulatorAdmin

PAINT_TARGET_S = 1.5
KEY_TARGET_S = 0.05
SCREEN = (160, 45)  # columns, lines
REFRESH = "2s"
PRESSES_PER_SIZE = 3  # presses per `key_presses` of the sizes: spread over many refreshes
GAP_S = (0.05, 0.25)  # random pause between two presses
ZONE = "Europe/Berlin"
WINDOW_AHEAD = timedelta(hours=2)  # the rule's window opens this long after the run starts
PAINT_TIMEOUT_S = 120.0
KEY_TIMEOUT_S = 10.0
FIRST_ROW_LINE = 2  # the header, the table's column titles, then the first row
MEASURE_PAINT = "app first paint in a terminal (pty)"
MEASURE_KEYS = "app key → screen in a terminal (pty) during live refreshes"
COUNT = re.compile(r"(\d+) flows")


def split(flows: int) -> tuple[int, int]:
    """Flows per listing platform (Diga, GASSAPI, Runflow) and Bitrix24 ids, 3:3:3:1."""
    tenth = max(1, flows // 10)
    return max(1, (flows - tenth) // 3), tenth


@dataclass(frozen=True)
class Emulator:
    """`flowtui emulate` in its own process: where it listens and what it printed."""

    base_url: str
    organization: str
    env: dict[str, str]


@contextmanager
def emulate(flows: int) -> Iterator[Emulator]:
    """`flowtui emulate --port 0` with `flows` flows per platform, until the block ends."""
    command = [sys.executable, "-m", "flowtui", "emulate", "--port", "0"]
    command += ["--flows", str(flows), "--token", secrets.token_urlsafe(12)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(printed)
        base = re.search(r"emulator on (http://\S+)", text)
        organization = re.search(r"organization\s+(\S+)", text)
        if base is None or organization is None:
            raise RuntimeError(f"flowtui emulate did not start: {text[-500:]}")
        env = dict(re.findall(r"^export (\w+)=(\S+)$", text, re.MULTILINE))
        yield Emulator(base.group(1), organization.group(1), env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def closed_window(now: datetime) -> tuple[str, str]:
    """(from, to) of a daily window that opens WINDOW_AHEAD after `now` (local time): every
    flow it names has a next change to work out and show, and none is due during the run —
    a window open at the hour the benchmark runs would add the scheduler converging
    thousands of flows to what is timed, and make the figures depend on that hour."""
    opens = now + WINDOW_AHEAD
    return opens.strftime("%H:00"), (opens + timedelta(hours=2)).strftime("%H:00")


def write_config(emulator: Emulator, path: Path, bitrix: int) -> None:
    """The four accounts (Bitrix24: its first `bitrix` flows) and a daily window on Diga
    and GASSAPI (`closed_window`), read with the variables `flowtui emulate` printed."""
    admin = EmulatorAdmin(emulator.base_url, timeout=60)
    try:
        bitrix_ids = [int(flow["id"]) for flow in admin.state("bitrix24")["flows"]][:bitrix]
    finally:
        admin.close()
    base = emulator.base_url
    opens, closes = closed_window(datetime.now(ZoneInfo(ZONE)))
    data = {
        "settings": {"timezone": ZONE, "refresh": REFRESH, "confirm": False},
        "accounts": {
            "support": {"kind": "diga", "base_url": f"{base}/diga", "token_env": "DIGA_API_KEY"},
            "ops": {
                "kind": "gassapi",
                "base_url": f"{base}/gassapi/",
                "token_env": "GASS_TOKEN",
                "refresh_token_env": "GASS_REFRESH_TOKEN",
            },
            "studio": {
                "kind": "runflow",
                "base_url": f"{base}/runflow",
                "token_env": "RUNFLOW_API_KEY",
                "organization_id": emulator.organization,
            },
            "crm": {
                "kind": "bitrix24",
                "webhook_url_env": "B24_WEBHOOK_URL",
                "flow_ids": bitrix_ids,
            },
        },
        "maintenance": [
            {
                "name": "nightly",
                "flows": ["support:*", "ops:*"],
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "from": opens,
                "to": closes,
            }
        ],
    }
    path.write_text(tomli_w.dumps(data))


def app_command(config: Path, state_dir: Path) -> list[str]:
    flowtui = [sys.executable, "-m", "flowtui", "--config", str(config)]
    return [*flowtui, "--state-dir", str(state_dir), "tui"]


def loaded(terminal: Terminal) -> bool:
    """The header counts the flows and the first read is complete."""
    header = terminal.screen.display[0]
    return "loading" not in header and COUNT.search(header) is not None


def cursor_line(terminal: Terminal, look: str) -> int | None:
    """The screen line of the highlighted row (its background is `look`)."""
    for line in range(FIRST_ROW_LINE, terminal.screen.lines):
        if terminal.background(line) == look:
            return line
    return None


def key_latencies(terminal: Terminal, presses: int, rng: random.Random) -> list[float]:
    """Seconds from writing `down` to the screen showing the highlight one row lower;
    back to the top (`g`, not timed) before the highlight would leave the screen."""
    look = terminal.background(FIRST_ROW_LINE)
    last = terminal.screen.lines - 8  # well above the status bar and footer
    latencies: list[float] = []
    while len(latencies) < presses:
        line = cursor_line(terminal, look)
        if line is None or line >= last:
            terminal.send("g")
            terminal.wait_for(lambda t: cursor_line(t, look) == FIRST_ROW_LINE, KEY_TIMEOUT_S)
            continue
        time.sleep(rng.uniform(*GAP_S))
        sent = terminal.send("down")
        seen = terminal.wait_for(
            lambda t, want=line + 1: cursor_line(t, look) == want, KEY_TIMEOUT_S, "the cursor"
        )
        latencies.append(seen - sent)
    return latencies


def session(flows: int, presses: int, seed: int = 0) -> tuple[float, int, list[float]]:
    """(seconds to first paint, flows shown, key latencies) of one app start."""
    listing, bitrix = split(flows)
    with emulate(listing) as emulator, TemporaryDirectory(prefix="flowtui-pty-") as tmp:
        config = Path(tmp) / "schedules.toml"
        write_config(emulator, config, bitrix)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp} | emulator.env
        terminal = Terminal(app_command(config, Path(tmp) / "state"), env=env, cwd=Path(tmp))
        try:
            painted = terminal.wait_for(loaded, PAINT_TIMEOUT_S, "every flow") - terminal.started
            count = COUNT.search(terminal.screen.display[0])
            shown = int(count.group(1)) if count else 0
            latencies = key_latencies(terminal, presses, random.Random(seed)) if presses else []
        finally:
            terminal.close()
    return painted, shown, latencies


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    presses = sizes.key_presses * PRESSES_PER_SIZE
    starts = [session(sizes.app_flows, 0) for _ in range(max(1, min(3, sizes.repeats) - 1))]
    starts.append(session(sizes.app_flows, presses))
    paint, shown = median([paint for paint, _, _ in starts]), starts[0][1]
    latencies = starts[-1][2]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    return [
        Row(
            f"{MEASURE_PAINT}, {shown} flows",
            seconds(paint),
            f"< {seconds(PAINT_TARGET_S)}",
            verdict(paint < PAINT_TARGET_S, seconds(paint)),
            note=(
                f"median of {len(starts)} starts of `flowtui tui` in a {SCREEN[0]}×{SCREEN[1]} "
                "pty against `flowtui emulate` in another process, from spawning it to the "
                "header counting every flow with the first read complete "
                f"(each: {', '.join(seconds(p) for p, _, _ in starts)})."
            ),
        ),
        Row(
            f"{MEASURE_KEYS}, {shown} flows",
            f"p95 {seconds(p95)}",
            f"p95 < {seconds(KEY_TARGET_S)}",
            verdict(p95 < KEY_TARGET_S, f"p95 {seconds(p95)}"),
            note=(
                f"{len(latencies)} `down` presses {GAP_S[0]:g}-{GAP_S[1]:g} s apart while the "
                f"app refreshed every {REFRESH}; p50 {seconds(p50)}, max {seconds(max(latencies))}."
            ),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_terminal", description=__doc__)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    arguments = parser.parse_args(argv)
    bench = Bench(SIZES[arguments.sizes])
    try:
        rows = measure(bench)
        print(text_table(rows))
        for row in rows:
            print(f"- {row.measure}: {row.note}")
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
