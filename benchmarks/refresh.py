"""Refresh every flow of an account, and of all four accounts at once.

flowtui, cold: `flowtui ls --account A --json` from a shell (a new process: start-up,
config, new connections). flowtui, warm: later passes of one process that keeps its
providers, as the app's live refresh does (benchmarks/flowtui_refresh.py). The baseline is
benchmarks/naive_client.py, measured the same two ways.

The limit is the critical path: the longest chain of requests that each need the answer
before, × the emulator's latency, or the rate limit when that is longer, with each
platform's documented page size at its maximum and as much concurrency as the platform
documents. Diga (`limit` ≤ 30, no rate limit documented): page 1 tells `total_pages`, then
every other page at once. Runflow (`limit` ≤ 500, cursor only): the pages in turn. GASSAPI
(no paging, no rate limit): the project list, then every project at once. Bitrix24 (no
list method): 50 ids per `batch`, the batches at once while the burst of 50 lasts, then
2 a second.
"""

from __future__ import annotations

import json
import math
import resource
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from benchmarks import shell
from benchmarks.bench import Bench
from benchmarks.emulated import (
    ACCOUNTS,
    BITRIX24_BATCH,
    BITRIX24_BURST,
    BITRIX24_RATE_PER_S,
    PLATFORMS,
    Emulated,
    write_config,
)
from benchmarks.harness import Row, counted, median, ratio_to, seconds, verdict

GOAL_RATIO = 1.3
DIGA_PAGE = 30
RUNFLOW_PAGE = 500


def chain(emulated: Emulated, platform: str, flows: int) -> tuple[float, str]:
    """(seconds, how) of the platform's critical path for listing `flows` flows."""
    latency = emulated.latency_s
    if platform == "diga":
        pages = max(1, math.ceil(flows / DIGA_PAGE))
        if pages == 1:
            return latency, "1 page"
        return 2 * latency, f"page 1, then the other {pages - 1} of {pages} at once"
    if platform == "runflow":
        pages = max(1, math.ceil(flows / RUNFLOW_PAGE))
        return pages * latency, f"{counted(pages, 'cursor page')} in turn"
    if platform == "gassapi":
        return 2 * latency, "the project list, then every project at once"
    batches = max(1, math.ceil(flows / BITRIX24_BATCH))
    over = max(0, batches - BITRIX24_BURST) / BITRIX24_RATE_PER_S
    return (
        over + latency,
        f"{counted(batches, 'batch', 'batches')} within the burst of {BITRIX24_BURST}",
    )


def target(emulated: Emulated) -> str:
    """What the naive client needs to know, as JSON."""
    running = emulated.running
    return json.dumps(
        {
            "token": running.token,
            "diga_url": running.diga_url,
            "gassapi_url": running.gassapi_url,
            "runflow_url": running.runflow_url,
            "runflow_org_id": running.runflow_org_id,
            "bitrix24_webhook": running.bitrix24_webhook_url,
            "bitrix24_ids": [int(i) for i in emulated.ids("bitrix24")],
        }
    )


def _passes(ran: shell.Ran) -> dict[str, Any]:
    return json.loads(ran.stdout)


def _cpu_seconds() -> float:
    """CPU time of this process, whose only busy thread during a probe is the emulator's."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def measure_platforms(bench: Bench, platforms: tuple[str, ...], directory: Path) -> Row:
    """Each run starts on a freshly reset emulator (an empty Bitrix24 bucket): cold runs,
    then processes of two passes (the second is warm), for flowtui and the naive client."""
    sizes = bench.sizes
    emulated = bench.emulated(sizes.refresh_flows)
    config = write_config(emulated, directory / "schedules.toml")
    env = emulated.env
    accounts = [ACCOUNTS[p] for p in platforms]
    selection = [arg for account in accounts for arg in ("--account", account)]
    state = ("--state-dir", str(directory / "state"))
    ls = shell.flowtui("--config", str(config), *state, "ls", *selection, "--json")
    warm_probe = shell.python("-m", "benchmarks.flowtui_refresh", str(config), *accounts)
    naive_probe = shell.python("-m", "benchmarks.naive_client", target(emulated), *platforms)
    colds, warms, naive_colds, naive_warms = [], [], [], []
    client_cpu: list[float] = []
    emulator_cpu: list[float] = []
    listed = requests = naive_requests = 0
    naive_flows: dict[str, int] = {}
    for _ in range(sizes.repeats):
        bench.emulated(sizes.refresh_flows)
        ran = shell.run(ls, env)
        colds.append(ran.seconds)
        listed = len(ran.json_lines())
        requests = sum(len(emulated.requests(p)) for p in platforms)
        bench.emulated(sizes.refresh_flows)
        served = _cpu_seconds()
        warm = _passes(shell.run([*warm_probe, "--passes", "2"], env))
        emulator_cpu.append((_cpu_seconds() - served) / 2)
        warms.append(warm["passes"][1])
        client_cpu.append(warm["cpu"][1])
        bench.emulated(sizes.refresh_flows)
        naive_colds.append(shell.run(naive_probe).seconds)
        naive_requests = sum(len(emulated.requests(p)) for p in platforms)
        bench.emulated(sizes.refresh_flows)
        naive = _passes(shell.run([*naive_probe, "--passes", "2"]))
        naive_warms.append(naive["passes"][1])
        naive_flows = naive["flows"]
    expected = sum(naive_flows.values())
    chains = {p: chain(emulated, p, naive_flows[p]) for p in platforms}
    limit, how = max(chains.values())
    cold, warm = colds[0], median(warms)
    naive_cold, naive_warm = naive_colds[0], median(naive_warms)
    ok = warm <= GOAL_RATIO * limit and listed == expected
    why = f"listed {listed} of {expected}" if listed != expected else f"warm {warm / limit:.2f}×"
    name = "all four at once" if len(platforms) > 1 else platforms[0]
    note = (
        f"cold: `flowtui ls --json` from a shell, the first of {len(colds)} runs "
        f"({', '.join(seconds(c) for c in colds)}), {cold / limit:.1f}× the limit, "
        f"{counted(requests, 'request')}; warm: the second pass of a process that keeps its "
        "providers "
        f"(median of {len(warms)}: {', '.join(seconds(w) for w in warms)}); in a warm pass "
        f"flowtui's process used {seconds(median(client_cpu))} of CPU and the emulator about "
        f"{seconds(median(emulator_cpu))} (the median; the emulator's is its process's CPU "
        "over the probe's two passes, halved). Naive client: "
        f"cold {seconds(naive_cold)} from a shell, warm {seconds(naive_warm)} (median of "
        f"{len(naive_warms)}), {counted(naive_requests, 'request')}. Limit: "
        + "; ".join(f"{p} {seconds(t)} ({h})" for p, (t, h) in chains.items())
        + "."
    )
    return Row(
        f"refresh {expected} flows, {name}",
        f"cold {seconds(cold)} · warm {seconds(warm)}",
        f"warm ≤ {GOAL_RATIO:g}× limit",
        verdict(ok, why),
        f"cold {seconds(naive_cold)} · warm {seconds(naive_warm)}",
        f"{seconds(limit)}: {how}",
        ratio_to(warm, limit),
        note,
    )


def measure(bench: Bench) -> list[Row]:
    with TemporaryDirectory(prefix="flowtui-bench-") as tmp:
        rows = [measure_platforms(bench, (p,), Path(tmp)) for p in PLATFORMS]
        rows.append(measure_platforms(bench, PLATFORMS, Path(tmp)))
    return rows
