"""One `flowtui daemon` replica on a compressed clock, for the team-mode chaos harness
(tests/reliability/replicas.py). Run as a script (not imported):

    python replica_main.py CONFIG STATE_DIR ANCHOR START FACTOR

The engine's clock reads START at the wall-clock instant ANCHOR (Unix seconds) and runs
FACTOR times faster than real time, so that every replica — started, killed and restarted
at different moments — reads the same engine time. Otherwise it is the daemon: team mode
from the configuration, one log line per engine event on stderr, SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from flowtui import logs
from flowtui.engine.clock import ScaledClock
from flowtui.engine.daemon import Scheduler, install_signal_handlers
from flowtui.engine.events import EventBus
from flowtui.engine.logprinter import LogPrinter
from flowtui.providers.transport import RetryPolicy


async def serve(config: Path, state_dir: Path, clock: ScaledClock) -> None:
    bus = EventBus(maxsize=10_000)
    printer = LogPrinter(bus, sys.stderr, "human")
    printing = asyncio.create_task(printer.run())
    scheduler = Scheduler(config, state_dir, bus, clock, retry=RetryPolicy(scale=0.05))
    stop = asyncio.Event()
    install_signal_handlers(scheduler, stop)
    try:
        await scheduler.run(stop)
    finally:
        printing.cancel()
        await asyncio.gather(printing, return_exceptions=True)


def main(argv: list[str]) -> None:
    config, state_dir, anchor, start, factor = argv
    scale = float(factor)
    now = datetime.fromisoformat(start) + timedelta(seconds=(time.time() - float(anchor)) * scale)
    logs.configure("human", "warning")
    asyncio.run(serve(Path(config), Path(state_dir), ScaledClock(now, scale)))


if __name__ == "__main__":
    main(sys.argv[1:])
