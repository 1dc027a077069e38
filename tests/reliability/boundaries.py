"""The engine at its boundaries, judged by the emulator's raw state (issue 12's fault test).

The real daemon engine (`Scheduler.start()`: APScheduler, lanes, resyncs) runs on a
compressed clock against rules that flip every minute on all four accounts, while one
account (Runflow) answers slower than its timeout. A sampler thread reads the emulator's
raw state every few milliseconds — what the platforms hold, not what flowtui logs — and
the run is judged on it:

- stale: a flow moved to a state that the rules did not want at the instant the change was
  applied (between the two samples that saw it);
- both off: the A/B switch with neither group on, and for how long;
- lateness: on the healthy accounts, real seconds from each boundary to the first sample
  showing its flows in their new state.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flowtui.config import load_config
from flowtui.engine.clock import ScaledClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.events import EventBus
from flowtui.model import FlowRef, State
from flowtui.providers.transport import RetryPolicy
from flowtui.rules import Schedule

from .soak import actual_states, secrets_env

START = datetime(2031, 11, 24, 10, 0, 0, tzinfo=UTC)  # engine time; a Monday
FACTOR = 4.0  # engine seconds per real second
SLOW = "studio"  # answers slower than its timeout
HEALTHY = ("support", "ops", "crm")
SAMPLE_EVERY_S = 0.04


def boundary_config(emu: Any) -> str:
    """Four accounts; per account a window every minute (30 s disabled, then enabled), and
    a break-before-make switch between a Diga and a Bitrix24 flow every 45 s."""
    raw = emu.state()
    diga = [f["id"] for f in raw["diga"]["flows"] if f["published"]][:3]
    members = {p["id"] for p in raw["gassapi"]["projects"] if p["member"]}
    gass = [f["id"] for f in raw["gassapi"]["flows"] if f["project_id"] in members][:2]
    runflow = [f["id"] for f in raw["runflow"]["flows"]][:2]
    crm = [int(f["id"]) for f in raw["bitrix24"]["flows"]][:3]
    windows = {
        "support": [f"support:{i}" for i in diga[:2]],
        "ops": [f"ops:{i}" for i in gass],
        "studio": [f"studio:{i}" for i in runflow],
        "crm": [f"crm:{i}" for i in crm[:2]],
    }
    rules = "".join(
        f"""
[[maintenance]]
name = "every-minute-{account}"
flows = {refs}
cron = "* * * * *"
duration = "30s"
after = "enabled"
"""
        for account, refs in windows.items()
    )
    return f"""
[settings]
timezone = "UTC"
resync = "20s"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "SOAK_DIGA"
timeout = "1s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "SOAK_GASS"
refresh_token_env = "SOAK_GASS_REFRESH"
timeout = "1s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "SOAK_RUNFLOW"
timeout = "1s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "SOAK_B24"
flow_ids = {crm}
rate = 20
timeout = "1s"
{rules}
[[ab_switch]]
name = "ab"
a = ["support:{diga[2]}"]
b = ["crm:{crm[2]}"]
every = "45s"
start = {START.isoformat()}
order = "break-before-make"
"""


@dataclass
class BoundaryCounts:
    changes: int = 0  # state changes seen in the emulator
    stale: list[str] = field(default_factory=list)
    both_off_s: list[float] = field(default_factory=list)  # each episode, real seconds
    late_s: list[float] = field(default_factory=list)  # healthy boundaries → applied
    missed: list[str] = field(default_factory=list)  # healthy boundaries never applied

    def summary(self) -> str:
        late = sorted(self.late_s)
        p99 = late[min(len(late) - 1, int(0.99 * len(late)))] if late else 0.0
        return (
            f"changes {self.changes}, stale {len(self.stale)}, A/B both-off episodes"
            f" {len(self.both_off_s)} (longest {max(self.both_off_s, default=0.0):.3f} s),"
            f" healthy boundaries {len(late)} (p99 {p99:.3f} s, max"
            f" {max(late, default=0.0):.3f} s), missed {len(self.missed)}"
        )


class Sampler(threading.Thread):
    """Reads the emulator's raw state every `SAMPLE_EVERY_S` until stopped."""

    def __init__(self, emu: Any, flows: set[FlowRef]) -> None:
        super().__init__(daemon=True)
        self.emu, self.flows = emu, flows
        self.samples: list[tuple[datetime, dict[FlowRef, State]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            before = datetime.now(UTC)
            states = actual_states(self.emu)
            self.samples.append((before, {ref: states[ref] for ref in self.flows}))
            # A sampling period, not a wait for readiness. (Not `done.wait(timeout)`: under
            # faketime a timed condition wait is computed on the faked clock and never ends.)
            time.sleep(SAMPLE_EVERY_S)


async def run_boundaries(emu: Any, tmp: Path, engine_minutes: float) -> BoundaryCounts:
    config_path = tmp / "schedules.toml"
    config_path.write_text(boundary_config(emu))
    config = load_config(config_path)
    schedule = Schedule(config)
    emu.set_fault("runflow", latency_ms=1500)
    clock = ScaledClock(START - timedelta(seconds=20), FACTOR)  # start-up settles first
    governed = {ref for ref in schedule.desired(START) if isinstance(ref, FlowRef)}
    sampler = Sampler(emu, governed)
    scheduler = Scheduler(
        config_path,
        tmp / "state",
        EventBus(),
        clock,
        env=secrets_env(emu),
        retry=RetryPolicy(scale=0.05),
    )
    sampler.start()
    await scheduler.start()
    try:
        end = START + timedelta(minutes=engine_minutes)
        # the engine runs meanwhile; the run lasts until the clock reads `end`
        await asyncio.sleep((clock.wall(end) - datetime.now(UTC)).total_seconds())
    finally:
        await scheduler.stop()
        sampler.done.set()
        sampler.join()
    return judge(sampler.samples, schedule, clock, config, START, end)


def judge(
    samples: list[tuple[datetime, dict[FlowRef, State]]],
    schedule: Schedule,
    clock: ScaledClock,
    config: Any,
    begin: datetime,
    end: datetime,
) -> BoundaryCounts:
    counts = BoundaryCounts()

    def engine_at(wall: datetime) -> datetime:
        return clock.now() - (datetime.now(UTC) - wall) * clock.factor

    def wanted(at: datetime) -> dict[Any, Any]:
        return {ref: want.state for ref, want in schedule.desired(at).items()}

    for (t1, s1), (t2, s2) in itertools.pairwise(samples):
        for ref, state in s2.items():
            if s1[ref] == state:
                continue
            counts.changes += 1
            e1, e2 = engine_at(t1), engine_at(t2)
            if e2 <= begin:
                continue  # the first convergence, before the rules' first boundary
            if state not in (wanted(e1).get(ref), wanted(e2).get(ref)):
                counts.stale.append(f"{ref} → {state} between {e1:%H:%M:%S.%f} and {e2:%T.%f}")
    switch = config.ab_switch[0]
    groups = [[FlowRef(*ref.split(":", 1)) for ref in group] for group in (switch.a, switch.b)]
    off_since: datetime | None = None
    for wall, states in samples:
        if engine_at(wall) <= begin:
            continue
        neither = all(all(states[ref] is not State.ENABLED for ref in group) for group in groups)
        if neither and off_since is None:
            off_since = wall
        elif not neither and off_since is not None:
            counts.both_off_s.append((wall - off_since).total_seconds())
            off_since = None
    for transition in schedule.transitions(begin, end - timedelta(seconds=5)):
        ref = transition.flow
        if not isinstance(ref, FlowRef) or ref.account not in HEALTHY:
            continue
        due = clock.wall(transition.at)
        seen = next(
            (
                wall
                for wall, states in samples
                if wall >= due and states[ref] == transition.to_state
            ),
            None,
        )
        if seen is None:
            counts.missed.append(f"{ref} → {transition.to_state} at {transition.at:%T}")
        else:
            counts.late_s.append((seen - due).total_seconds())
    return counts
