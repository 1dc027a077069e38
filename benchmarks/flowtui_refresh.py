"""flowtui's refresh in one process, pass after pass, as the app's live refresh runs it:
providers built once from schedules.toml by the registry (clients, pools and rate limiters
kept), each pass listing the accounts at once.

    python -m benchmarks.flowtui_refresh CONFIG ACCOUNT... [--passes N]

prints `{"flows": {account: count}, "passes": [seconds, ...], "cpu": [seconds, ...]}`
(`cpu`: this process's CPU time in each pass); secrets come from the environment, as for
`flowtui`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from flowtui.config import load_config
from flowtui.providers.base import Provider
from flowtui.providers.registry import Environment, build_provider


async def passes(
    providers: dict[str, Provider], count: int
) -> tuple[dict[str, int], list[float], list[float]]:
    flows: dict[str, int] = {}
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(count):
        started, used = time.perf_counter(), time.process_time()
        listed = await asyncio.gather(*(p.list_flows() for p in providers.values()))
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        flows = {name: len(found) for name, found in zip(providers, listed, strict=True)}
    return flows, times, cpu


async def refresh(config_path: Path, accounts: list[str], count: int) -> dict[str, object]:
    config = load_config(config_path)
    env = Environment()
    providers = {name: build_provider(name, config.accounts[name], env) for name in accounts}
    try:
        flows, times, cpu = await passes(providers, count)
    finally:
        await asyncio.gather(*(p.aclose() for p in providers.values()))
    return {"flows": flows, "passes": times, "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flowtui_refresh")
    parser.add_argument("config", type=Path)
    parser.add_argument("accounts", nargs="+")
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    json.dump(asyncio.run(refresh(args.config, args.accounts, args.passes)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
