"""The app on N flows, headless (`App.run_test`): time to first paint of every row, and
key-press latency while a live refresh runs.

The app is built as `flowtui tui` builds it (`flowtui.tui.launch.build_app`, scheduler
embedded) on the emulator. N flows are split 3:3:3:1 over Diga, GASSAPI, Runflow and
Bitrix24: a Bitrix24 account is read 50 flows per request under 2 req/s with a 45-request
client burst, so 2,250 Bitrix24 flows are all it can read in the first second; more would
measure the platform's limit rather than the app.

Screen updates are timed where the app hands them to its driver (see `PaintLog`). First
paint: from entering `run_test` to the first update showing all N rows. Key latency: a
refresh is started and, while its worker runs, `down` is sent as the terminal driver
sends keys; each sample runs from sending the key to the first screen update showing the
moved cursor. (`Pilot.press` is not used: it waits for the whole process to be idle, which
it never is during a refresh.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import tomli_w
from textual import events
from textual.css.query import NoMatches

from benchmarks.bench import Bench
from benchmarks.emulated import Emulated
from benchmarks.harness import Row, median, not_measured, percentile, seconds, times, verdict
from flowtui.providers.registry import Environment

PAINT_TARGET_S = 2.0
KEY_TARGET_S = 0.1
SCREEN = (160, 50)
POLL_S = 0.002
PAINT_DEADLINE_S = 120.0
KEY_DEADLINE_S = 10.0
PAINT_RUNS = 3
MEASURE_PAINT = "app first paint"
MEASURE_KEYS = "app key → screen update during a live refresh"


def split(flows: int) -> tuple[int, int]:
    """Flows per listing platform (Diga, GASSAPI, Runflow) and Bitrix24 ids, 3:3:3:1."""
    tenth = max(1, flows // 10)
    return max(1, (flows - tenth) // 3), tenth


def write_config(emulated: Emulated, path: Path, bitrix: int) -> None:
    accounts = emulated.accounts(emulated.ids("bitrix24")[:bitrix])
    maintenance = [
        {
            "name": "nightly",
            "flows": ["support:*", "ops:*"],
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "from": "22:00",
            "to": "06:00",
        }
    ]
    data = {"settings": {"timezone": "Europe/Berlin"}, "accounts": accounts}
    path.write_text(tomli_w.dumps(data | {"maintenance": maintenance}))


def _refreshes(app: Any) -> list[Any]:
    return [w for w in app.workers if w.group == "refresh" and not w.is_finished]


@dataclass(frozen=True)
class Paint:
    at: float
    rows: int
    cursor: int


class PaintLog:
    """Every screen update the app hands its driver, with the table's rows and cursor then.

    Headless, `App._display` receives the compositor's update and writes nothing; wrapping
    it is the one way to see when the screen changed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paints: list[Paint] = []
        display = app._display

        def recording(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                self._record()

        app._display = recording

    def _record(self) -> None:
        try:
            table = self.app.table
        except (StopIteration, NoMatches):  # the main screen is not mounted yet
            return
        self.paints.append(Paint(time.perf_counter(), table.row_count, table.cursor_row))

    async def first(self, wanted: Callable[[Paint], bool], deadline_s: float) -> Paint:
        """The first paint that satisfies `wanted`, waiting for it up to `deadline_s`."""
        ends = time.perf_counter() + deadline_s
        seen = 0
        while True:
            for paint in self.paints[seen:]:
                if wanted(paint):
                    return paint
            seen = len(self.paints)
            if time.perf_counter() > ends:
                raise TimeoutError("the screen did not show it in time")
            await asyncio.sleep(POLL_S)


def _moved(sent: float, before: int) -> Callable[[Paint], bool]:
    return lambda paint: paint.at >= sent and paint.cursor != before


async def _session(app: Any, rows: int, presses: int) -> tuple[float, list[float]]:
    """(seconds to first paint of `rows` rows, key latencies during refreshes)."""
    log = PaintLog(app)
    started = time.perf_counter()
    async with app.run_test(size=SCREEN):
        painted = (await log.first(lambda p: p.rows >= rows, PAINT_DEADLINE_S)).at - started
        running = _refreshes(app)
        if running:  # (an empty list would wait for every worker, the scheduler's too)
            await app.workers.wait_for_complete(running)
        table = app.table
        table.focus()
        latencies: list[float] = []
        while len(latencies) < presses:
            if not _refreshes(app):
                app.refresh_flows()
                await asyncio.sleep(POLL_S)
            before = table.cursor_row
            key = "down" if before < rows - 1 else "home"
            sent = time.perf_counter()
            during = bool(_refreshes(app))
            app._driver.send_message(events.Key(key, None))
            paint = await log.first(_moved(sent, before), KEY_DEADLINE_S)
            if during:
                latencies.append(paint.at - sent)
        return painted, latencies


def _open(bench: Bench, flows: int, presses: int) -> tuple[float, list[float], int]:
    from flowtui.tui.launch import build_app

    listing, bitrix = split(flows)
    emulated = bench.emulated(listing)
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        config = Path(tmp) / "schedules.toml"
        write_config(emulated, config, bitrix)
        gassapi = len(emulated.admin.state("gassapi")["flows"]) - 2  # one non-member project
        total = 2 * listing + gassapi + bitrix
        app = build_app(config, Path(tmp) / "state", env=Environment(env=emulated.env))
        painted, latencies = asyncio.run(_session(app, total, presses))
    return painted, latencies, total


def measure(bench: Bench) -> list[Row]:
    sizes = bench.sizes
    paint_target = f"< {seconds(PAINT_TARGET_S)}"
    key_target = f"p95 < {seconds(KEY_TARGET_S)}"
    try:
        import flowtui.tui.launch  # noqa: F401
    except ImportError as exc:
        why = f"the app (flowtui.tui.launch) is not importable: {exc}"
        return [
            not_measured(MEASURE_PAINT, paint_target, why),
            not_measured(MEASURE_KEYS, key_target, why),
        ]
    opens = min(PAINT_RUNS, sizes.repeats)
    base = [_open(bench, sizes.app_baseline_flows, 0) for _ in range(opens)]
    full = [_open(bench, sizes.app_flows, 0) for _ in range(opens - 1)]
    full.append(_open(bench, sizes.app_flows, sizes.key_presses))
    base_paint, base_rows = median([paint for paint, _, _ in base]), base[0][2]
    paint, rows, latencies = median([paint for paint, _, _ in full]), full[0][2], full[-1][1]
    p95 = percentile(latencies, 0.95)
    paint_note = (
        f"median of {opens} app starts, from entering run_test to the first screen "
        "update showing every row, the embedded scheduler starting; flows split "
        "3:3:3:1 (see benchmarks/app_paint.py)."
    )
    return [
        Row(
            f"{MEASURE_PAINT}, {rows} flows (headless run_test, not a pty)",
            seconds(paint),
            paint_target,
            verdict(paint < PAINT_TARGET_S, seconds(paint)),
            baseline=f"{seconds(base_paint)} with {base_rows} flows",
            ratio=f"{times(paint / base_paint)} the time for {times(rows / base_rows)} the flows",
            note=paint_note,
        ),
        Row(
            f"{MEASURE_KEYS}, {rows} flows (headless run_test)",
            f"p95 {seconds(p95)}",
            key_target,
            verdict(p95 < KEY_TARGET_S, f"p95 {seconds(p95)}"),
            note=(
                f"{len(latencies)} `down` presses while a refresh worker ran; "
                f"p50 {seconds(percentile(latencies, 0.5))}, max {seconds(max(latencies))}."
            ),
        ),
    ]
