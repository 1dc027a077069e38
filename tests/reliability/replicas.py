"""Team mode under chaos (issue 17): several `flowtui daemon` replicas on one PostgreSQL
database and one emulator, compressed rules (windows and a break-before-make A/B switch on
Diga flows), and faults — kill -9 and SIGSTOP/SIGCONT of replicas, or a restart of the
database itself. Judged only from outside flowtui: the emulator's raw request log and state,
the lease row and the audit table, never from flowtui's own logs.

- applied twice / missed: between a transition of a governed flow and its next one, the
  emulator holds the flow in the new state (missed if never), after at most one status
  PATCH (a send; twice if more);
- without a lease: every PATCH was sent under the epoch of an intent that the lease still
  carried — no lease sample taken before the PATCH shows a newer epoch, and that epoch's
  lease had not yet run out by its last renewal the samples saw;
- audit complete: every PATCH has a scheduler intent for its flow in the same interval,
  and every intent has an outcome once the run is over;
- A/B both-off: episodes with neither group enabled, and for how long; one that no fault
  explains must last less than one change and verification.
"""

from __future__ import annotations

import bisect
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import psycopg
from polling import wait_for

from flowtui.config import load_config
from flowtui.model import FlowRef, State
from flowtui.rules import Schedule
from flowtui.store.admin import upgrade_database
from flowtui.store.leases import LeaseStore

from .soak import actual_states, secrets_env

START = datetime(2031, 11, 24, 10, 0, 0, tzinfo=UTC)  # engine time of the rules' first boundary
LEAD_IN = timedelta(seconds=24)  # engine time before START: replicas start, elect, converge
FACTOR = 2.0  # engine seconds per real second: a rule interval outlasts any fault
LEASE_S = 2
SAMPLE_EVERY_S = 0.05
SEND_SLACK_S = 0.5  # a PATCH may reach the emulator this long before its engine instant
LAUNCHER = Path(__file__).with_name("replica_main.py")
STATUS_PATCH = re.compile(r"/v1/workflow/([^/]+)/status$")


def chaos_config(emu: Any) -> str:
    """Two windows a minute apart in phase (30 s disabled each minute) and an A/B switch
    every 45 s (break before make), all on Diga, whose every status PATCH names its flow."""
    raw = emu.state()
    diga = [f["id"] for f in raw["diga"]["flows"] if f["published"]][:4]
    return f"""
[settings]
timezone = "UTC"
resync = "20s"
state_url_env = "FLOWTUI_TEST_STATE_URL"
lease = "{LEASE_S}s"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "SOAK_DIGA"
timeout = "1s"

[[maintenance]]
name = "window-a"
flows = ["support:{diga[0]}"]
cron = "* * * * *"
duration = "30s"
after = "enabled"

[[maintenance]]
name = "window-b"
flows = ["support:{diga[1]}"]
cron = "* * * * *"
duration = "20s"
after = "enabled"

[[ab_switch]]
name = "ab"
a = ["support:{diga[2]}"]
b = ["support:{diga[3]}"]
every = "45s"
start = {START.isoformat()}
order = "break-before-make"
"""


@dataclass
class Fault:
    """One fault injected: `kind` is kill, stop or db; `leader` when it hit the leader."""

    kind: str
    began: float  # wall seconds
    ended: float
    leader: bool


@dataclass
class ChaosCounts:
    replicas: int = 0
    transitions: int = 0
    sends: int = 0  # status PATCHes the emulator applied after the lead-in
    faults: list[Fault] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unleased: list[str] = field(default_factory=list)  # sends without a current lease
    unaudited: list[str] = field(default_factory=list)
    open_intents: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)  # sends no transition explains
    both_off_s: list[float] = field(default_factory=list)  # explained by no fault
    both_off_fault_s: list[float] = field(default_factory=list)  # overlapping a fault
    failover_s: list[float] = field(default_factory=list)  # leader killed → new epoch
    epochs: int = 0
    tracebacks: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        return [
            *self.twice,
            *self.missed,
            *self.unleased,
            *self.unaudited,
            *self.open_intents,
            *self.stray,
            *self.tracebacks,
        ]

    def summary(self) -> str:
        kinds = Counter(f"{f.kind}{' leader' if f.leader else ''}" for f in self.faults)
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        fail = sorted(self.failover_s)
        times = (
            f"p50 {median(fail):.2f} s, max {fail[-1]:.2f} s over {len(fail)} leader kills"
            if fail
            else "no leader kills"
        )
        return (
            f"replicas {self.replicas}, transitions {self.transitions}, sends {self.sends},"
            f" faults {len(self.faults)} ({faults}), epochs {self.epochs};"
            f" applied twice {len(self.twice)}, missed {len(self.missed)}, sent without a"
            f" lease {len(self.unleased)}, unaudited sends {len(self.unaudited)}, open"
            f" intents {len(self.open_intents)}, stray sends {len(self.stray)};"
            f" A/B both-off beyond a fault"
            f" {len(self.both_off_s)} (longest {max(self.both_off_s, default=0):.3f} s), during"
            f" a fault {len(self.both_off_fault_s)} (longest"
            f" {max(self.both_off_fault_s, default=0):.3f} s); failover {times}"
        )


@dataclass(frozen=True)
class LeaseSample:
    at: float  # wall seconds
    holder: str
    epoch: int
    expires_at: float  # wall seconds (the database's clock, on this machine)
    expired: bool


class Watcher(threading.Thread):
    """Samples the emulator's raw state of the governed flows and the lease row."""

    def __init__(self, emu: Any, url: str, flows: set[FlowRef]) -> None:
        super().__init__(daemon=True)
        self.emu, self.flows = emu, flows
        self.leases = LeaseStore(url, "default")
        self.states: list[tuple[float, dict[FlowRef, State]]] = []
        self.lease: list[LeaseSample] = []
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                before = time.time()
                states = actual_states(self.emu)
                self.states.append((before, {ref: states[ref] for ref in self.flows}))
                self._sample_lease()
                time.sleep(SAMPLE_EVERY_S)  # a sampling period, not a wait for readiness
        finally:
            self.leases.close()

    def _sample_lease(self) -> None:
        from flowtui.store import StoreError

        try:
            current = self.leases.current()
        except StoreError:
            return  # the database is down (a restart under test)
        if current is not None:
            self.lease.append(
                LeaseSample(
                    time.time(),
                    current.holder,
                    current.epoch,
                    current.expires_at.timestamp(),
                    current.expired,
                )
            )

    def leader_pid(self) -> int | None:
        for sample in reversed(self.lease[-3:]):
            return None if sample.expired else int(sample.holder.rpartition(":")[2])
        return None


class Replicas:
    """`count` replica processes of one configuration, each with a state dir of its own."""

    def __init__(self, workdir: Path, url: str, emu: Any, count: int) -> None:
        self.workdir, self.count = workdir, count
        self.config = workdir / "schedules.toml"
        self.config.write_text(chaos_config(emu))
        self.env = {**os.environ, **secrets_env(emu), "FLOWTUI_TEST_STATE_URL": url}
        self.anchor = time.time() + 1.0  # the engine reads START - LEAD_IN here
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.current: list[Path] = []  # each slot's log
        self.stopped: set[int] = set()  # pids under SIGSTOP

    def engine(self, wall: float) -> datetime:
        return START - LEAD_IN + timedelta(seconds=(wall - self.anchor) * FACTOR)

    def wall(self, instant: datetime) -> float:
        return self.anchor + (instant - START + LEAD_IN).total_seconds() / FACTOR

    def spawn(self, slot: int) -> subprocess.Popen[bytes]:
        log = self.workdir / f"replica{slot}-{len(self.logs)}.log"
        self.logs.append(log)
        command = [sys.executable, str(LAUNCHER), str(self.config), str(self.workdir / f"s{slot}")]
        start = (START - LEAD_IN).isoformat()
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, str(self.anchor), start, str(FACTOR)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        if slot < len(self.processes):
            self.processes[slot], self.current[slot] = process, log
        else:
            self.processes.append(process)
            self.current.append(log)
        return process

    def wait_running(self) -> None:
        """Until every replica has started (and handles SIGTERM)."""
        for log in self.current:
            wait_for(lambda log=log: "scheduler running" in log.read_text(), f"{log.name} up")

    def start(self) -> None:
        for slot in range(self.count):
            self.spawn(slot)

    def slot_of(self, pid: int | None) -> int | None:
        return next((n for n, p in enumerate(self.processes) if p.pid == pid), None)

    def kill(self, slot: int) -> None:
        process = self.processes[slot]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.stopped.discard(process.pid)

    def pause(self, slot: int) -> None:
        self.processes[slot].send_signal(signal.SIGSTOP)
        self.stopped.add(self.processes[slot].pid)

    def resume(self, slot: int) -> None:
        self.processes[slot].send_signal(signal.SIGCONT)
        self.stopped.discard(self.processes[slot].pid)

    def terminate(self) -> list[int | None]:
        """Stop every replica cleanly; their exit codes."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        codes: list[int | None] = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(None)
        return codes

    def tracebacks(self) -> list[str]:
        return [f"traceback in {log.name}" for log in self.logs if "Traceback" in log.read_text()]


class ChaosRun:
    """Replicas, a watcher and the faults; `run(seconds)` and then `judge()`."""

    def __init__(self, emu: Any, url: str, workdir: Path, count: int, seed: int = 17) -> None:
        upgrade_database(url)
        self.emu, self.url = emu, url
        self.rng = random.Random(seed)
        self.replicas = Replicas(workdir, url, emu, count)
        self.schedule = Schedule(load_config(self.replicas.config))
        governed = self.schedule.desired(START)
        self.flows = {ref for ref in governed if isinstance(ref, FlowRef)}
        self.watcher = Watcher(emu, url, self.flows)
        self.faults: list[Fault] = []
        self.end: datetime = START

    def __enter__(self) -> ChaosRun:
        self.emu.clear_requests()
        self.watcher.start()
        self.replicas.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.codes = self.replicas.terminate()
        self.watcher.done.set()
        self.watcher.join()

    def wait_until(self, instant: datetime) -> None:
        """Until the engine reads `instant` (a real wait: the run is the test)."""
        time.sleep(max(0.0, self.replicas.wall(instant) - time.time()))

    def wait_for_leader(self) -> int:
        """The slot of a running replica that holds a current lease (a killed or stopped
        one's lease may not have run out yet)."""

        def alive() -> int | None:
            pid = self.watcher.leader_pid()
            slot = self.replicas.slot_of(pid)
            running = slot is not None and pid not in self.replicas.stopped
            return slot if running else None

        return wait_for(lambda: (slot := alive()) is not None and (slot,), "a leader", 60)[0]

    def chaos(self, seconds: float) -> None:
        """Random faults for `seconds`: kill -9 (restarted after a moment) or SIGSTOP for
        up to twice the lease, each hitting the leader two times in three."""
        until = time.time() + seconds
        while time.time() < until - 3 * LEASE_S:
            time.sleep(self.rng.uniform(1.0, 2.5 * LEASE_S))  # between faults
            leader = self.replicas.slot_of(self.watcher.leader_pid())
            others = [n for n in range(self.replicas.count) if n != leader]
            hit_leader = leader is not None and self.rng.random() < 2 / 3
            slot = leader if hit_leader and leader is not None else self.rng.choice(others)
            began = time.time()
            if self.rng.random() < 0.5:
                self.replicas.kill(slot)
                time.sleep(self.rng.uniform(0.2, LEASE_S))
                self.replicas.spawn(slot)
                self.faults.append(Fault("kill", began, time.time(), hit_leader))
            else:
                self.replicas.pause(slot)
                time.sleep(self.rng.uniform(0.3, 2 * LEASE_S))
                self.replicas.resume(slot)
                self.faults.append(Fault("stop", began, time.time(), hit_leader))

    def restart_database(self, restart: Callable[[float], None], down_s: float) -> None:
        """Restart the database under the running leader (`restart(down_s)` stops it for
        `down_s` seconds and starts it again); then wait for a leader again."""
        began = time.time()
        restart(down_s)
        self.faults.append(Fault("db", began, time.time(), leader=True))
        self.wait_for_leader()

    def settle(self) -> None:
        """Let the last fault's takeover finish: a leader, and a full lease of quiet; the
        run is judged up to here."""
        self.wait_for_leader()
        self.replicas.wait_running()
        time.sleep(2 * LEASE_S)
        self.end = self.replicas.engine(time.time())

    def run(self, seconds: float) -> None:
        """Lead-in (election, first convergence), `seconds` of random faults, settling."""
        self.wait_until(START)
        self.wait_for_leader()
        self.chaos(seconds)
        self.settle()

    def judge(self) -> ChaosCounts:
        counts = ChaosCounts(replicas=self.replicas.count, faults=list(self.faults))
        begin = START
        end = self.end
        sends = status_patches(self.emu.requests("diga"), self.replicas.wall(begin))
        intents, outcomes = audit_rows(self.url)
        counts.sends = sum(len(times) for times in sends.values())
        lease = self.watcher.lease
        counts.epochs = len({s.epoch for s in lease})
        for ref in sorted(self.flows, key=str):
            moves = [t for t in self.schedule.transitions(begin, end) if t.flow == ref]
            counts.transitions += len(moves)
            self._judge_flow(ref, moves, sends.get(ref.flow_id, []), intents, counts)
        counts.open_intents = [
            f"intent {i['id']} on {i['flow_id']} has no outcome"
            for i in intents
            if i["id"] not in outcomes
        ]
        counts.unleased = [
            f"PATCH of {flow} at {at:.3f} under epoch {epoch}: {why}"
            for flow, at, epoch in self._sends_with_epochs(sends, intents)
            if (why := unleased(lease, at, epoch))
        ]
        self._judge_switch(counts)
        counts.failover_s = failovers(self.faults, lease)
        counts.tracebacks = self.replicas.tracebacks()
        return counts

    def _judge_flow(
        self,
        ref: FlowRef,
        moves: list[Any],
        sent: list[float],
        intents: list[dict[str, Any]],
        counts: ChaosCounts,
    ) -> None:
        written = [
            self.replicas.wall(i["timestamp"]) for i in intents if i["flow_id"] == ref.flow_id
        ]
        first = self.replicas.wall(moves[0].at) - SEND_SLACK_S if moves else time.time()
        counts.stray += [
            f"{ref}: a send at {at:.3f} before any transition" for at in sent if at < first
        ]
        for move, after in itertools.zip_longest(moves, moves[1:]):
            low = self.replicas.wall(move.at) - SEND_SLACK_S
            high = self.replicas.wall(after.at) - SEND_SLACK_S if after else time.time()
            if after is None and self.replicas.wall(move.at) > self.replicas.wall(self.end) - 2:
                continue  # too close to the end to judge
            inside = [at for at in sent if low <= at < high]
            what = f"{ref} → {move.to_state} at {move.at:%H:%M:%S}"
            seen = [s[ref] for at, s in self.watcher.states if low + SEND_SLACK_S <= at < high]
            if move.to_state not in seen:
                counts.missed.append(what)
            if len(inside) > 1:
                counts.twice.append(f"{what}: {len(inside)} sends")
            recorded = [at for at in written if low - SEND_SLACK_S <= at < high]
            if len(recorded) < len(inside):
                counts.unaudited.append(f"{what}: {len(inside)} sends, {len(recorded)} intents")

    def _sends_with_epochs(
        self, sends: dict[str, list[float]], intents: list[dict[str, Any]]
    ) -> list[tuple[str, float, int | None]]:
        """Each PATCH with the epoch of the latest intent for its flow written before it."""
        found = []
        for flow, times in sends.items():
            mine = sorted(
                (self.replicas.wall(i["timestamp"]), i["epoch"])
                for i in intents
                if i["flow_id"] == flow
            )
            for at in times:
                before = [epoch for written, epoch in mine if written <= at + SEND_SLACK_S]
                found.append((flow, at, before[-1] if before else None))
        return found

    def _judge_switch(self, counts: ChaosCounts) -> None:
        switch = self.schedule.config.ab_switch[0]
        groups = [[FlowRef(*r.split(":", 1)) for r in group] for group in (switch.a, switch.b)]
        since: float | None = None
        begin = self.replicas.wall(START)
        for at, states in self.watcher.states:
            if at < begin:
                continue
            neither = all(all(states[r] is not State.ENABLED for r in g) for g in groups)
            if neither and since is None:
                since = at
            elif not neither and since is not None:
                faulted = any(f.began - 1.0 <= at and f.ended >= since - 1.0 for f in self.faults)
                (counts.both_off_fault_s if faulted else counts.both_off_s).append(at - since)
                since = None


def status_patches(requests: list[dict[str, Any]], since: float) -> dict[str, list[float]]:
    """Per Diga flow id, when the emulator applied a status PATCH (from `since`)."""
    sends: dict[str, list[float]] = defaultdict(list)
    for entry in requests:
        match = STATUS_PATCH.search(entry["path"])
        if entry["method"] == "PATCH" and match and entry["applied"] and entry["at"] >= since:
            sends[match.group(1)].append(entry["at"])
    return {flow: sorted(times) for flow, times in sends.items()}


def audit_rows(url: str) -> tuple[list[dict[str, Any]], set[int]]:
    """Scheduler intents (id, flow, timestamp, epoch) and the intent ids that have an outcome,
    read straight from the audit table."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, event_type, intent_id, flow_id, timestamp, epoch FROM audit"
            " WHERE changed_by LIKE 'scheduler:%%' OR event_type = 'outcome' ORDER BY id"
        ).fetchall()
    intents = [
        {"id": r[0], "flow_id": r[3], "timestamp": r[4], "epoch": r[5]}
        for r in rows
        if r[1] == "intent"
    ]
    return intents, {r[2] for r in rows if r[1] == "outcome"}


def unleased(lease: list[LeaseSample], at: float, epoch: int | None) -> str | None:
    """Why a send at `at` under `epoch` had no lease (None if it had one)."""
    if epoch is None:
        return "no intent before it"
    newer = [s for s in lease if s.at < at and s.epoch > epoch]
    if newer:
        return f"epoch {newer[0].epoch} seen at {newer[0].at:.3f}"
    mine = [s.expires_at for s in lease if s.epoch == epoch]
    if mine and max(mine) < at:
        return f"its lease ran out at {max(mine):.3f}"
    return None


def failovers(faults: list[Fault], lease: list[LeaseSample]) -> list[float]:
    """Per kill -9 of the leader: seconds until the lease row shows a new, current epoch."""
    times = [s.at for s in lease]
    took = []
    for fault in faults:
        if fault.kind != "kill" or not fault.leader:
            continue
        start = bisect.bisect_left(times, fault.began)
        if start == 0:
            continue
        old = lease[start - 1].epoch
        new = next((s for s in lease[start:] if s.epoch > old and not s.expired), None)
        if new is not None:
            took.append(new.at - fault.began)
    return took
