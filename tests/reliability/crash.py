"""The crash loop: `flowtui daemon` as a real process against the emulator, killed with
SIGKILL at chosen points — between an intent and its outcome, during an A/B switch's second
step, after a random number of audit rows — and restarted, again and again.

After each restart: every intent the kill left open is closed with a "recovery after
restart" outcome, and the flows reach their desired state (worked out apart from the
daemon) within one resync.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polling import wait_for
from state_dir import audit_of, open_intents

from flowtui.config import load_config
from flowtui.engine.reconcile import RECOVERY_REASON
from flowtui.model import FlowRef, State
from flowtui.providers.base import SETTABLE
from flowtui.rules import Schedule

from .soak import actual_states, secrets_env

DEADLINE = 20.0  # seconds any one wait may take
RESYNC_S = 5


def crash_config(emu: Any) -> str:
    """Two A/B switches that flip every few seconds (one breaking before making, over Diga
    and Runflow; one making before breaking, over the toggling GASSAPI and Bitrix24)."""
    raw = emu.state()
    members = {p["id"] for p in raw["gassapi"]["projects"] if p["member"]}
    diga = [f"support:{f['id']}" for f in raw["diga"]["flows"] if f["published"]][:3]
    runflow = [f"studio:{f['id']}" for f in raw["runflow"]["flows"]][:1]
    gass = [f"ops:{f['id']}" for f in raw["gassapi"]["flows"] if f["project_id"] in members][:2]
    crm = [int(f["id"]) for f in raw["bitrix24"]["flows"]][:2]
    return f"""
[settings]
timezone = "UTC"
resync = "{RESYNC_S}s"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "SOAK_DIGA"
timeout = "2s"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "SOAK_GASS"
refresh_token_env = "SOAK_GASS_REFRESH"
toggle_only = true
timeout = "2s"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "SOAK_RUNFLOW"
timeout = "2s"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "SOAK_B24"
flow_ids = {crm}
rate = 20
timeout = "2s"

[[ab_switch]]
name = "web"
a = {diga[:2]}
b = {[diga[2], *runflow]}
every = "4s"
start = 2026-01-01T00:00:00Z
order = "break-before-make"

[[ab_switch]]
name = "crm"
a = {[f"crm:{crm[0]}", gass[0]]}
b = {[f"crm:{crm[1]}", gass[1]]}
every = "6s"
start = 2026-01-01T00:00:00Z
order = "make-before-break"
"""


@dataclass
class CrashCounts:
    kills: Counter[str] = field(default_factory=Counter)  # by kill point
    left_open: int = 0  # intents a kill left without an outcome
    recovered: int = 0  # of those, closed on restart with a recovery outcome
    converge_s: list[float] = field(default_factory=list)  # start pass done → desired state

    def summary(self) -> str:
        points = ", ".join(f"{point} {n}" for point, n in sorted(self.kills.items()))
        slowest = max(self.converge_s, default=0.0)
        return (
            f"kills {sum(self.kills.values())} ({points}), intents left open {self.left_open},"
            f" recovered {self.recovered}, slowest start-pass-to-desired-state {slowest:.2f} s"
        )


class CrashLoop:
    def __init__(self, emu: Any, workdir: Path, seed: int) -> None:
        self.emu = emu
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.config_path = workdir / "schedules.toml"
        self.config_path.write_text(crash_config(emu))
        self.state_dir = workdir / "state"
        self.schedule = Schedule(load_config(self.config_path))
        self.env = {**os.environ, **secrets_env(emu)}
        self.counts = CrashCounts()
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.seen_diffs: list[dict[str, str]] = []  # flows off their desired state, per poll

    def start(self) -> Path:
        """Start the daemon; return its log once its start pass (recovery included) is done."""
        log = self.workdir / f"daemon-{len(self.logs)}.log"
        self.logs.append(log)
        command = [sys.executable, "-m", "flowtui", "--config", str(self.config_path)]
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, "--state-dir", str(self.state_dir), "daemon"],
                env=self.env,
                stderr=stderr,
            )
        wait_for(lambda: "scheduler running" in log.read_text(), "the daemon's start pass")
        return log

    def kill(self, point: str) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=DEADLINE)
        self.counts.kills[point] += 1

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=DEADLINE)

    def desired_now(self) -> dict[FlowRef, State]:
        desired = self.schedule.desired(datetime.now(UTC), {}, [])
        return {ref: State(w.state) for ref, w in desired.items() if w.state in SETTABLE}  # type: ignore[arg-type]

    def converged(self) -> bool:
        diff = self.differences()
        self.seen_diffs.append(diff)
        return not diff

    def differences(self) -> dict[str, str]:
        want, actual = self.desired_now(), actual_states(self.emu)
        return {str(r): f"{actual[r]} (wants {s})" for r, s in want.items() if actual[r] is not s}

    def wait_kill_point(self, point: str) -> None:
        """Wait until the running daemon stands at `point`."""
        rows = len(audit_of(self.state_dir))
        if point == "between intent and outcome":
            wait_for(lambda: open_intents(self.state_dir), "an intent in flight")
        elif point == "A/B second step":
            wait_for(
                lambda: [
                    i
                    for i in open_intents(self.state_dir)
                    if i.changed_by == "scheduler:web" and i.new_status == str(State.ENABLED)
                ],
                "break-before-make enabling the new group",
            )
        else:
            more = self.rng.randint(1, 8)
            wait_for(lambda: len(audit_of(self.state_dir)) >= rows + more, f"{more} audit rows")

    def run(self, kills: int) -> CrashCounts:
        for platform in ("diga", "gassapi", "runflow", "bitrix24"):
            self.emu.set_fault(platform, latency_ms=self.rng.choice([100, 150, 250]))
        self.emu.set_fault("bitrix24", bucket_drain_per_s=20)
        points = ["between intent and outcome", "A/B second step", "after random audit rows"]
        try:
            self.start()
            for number in range(kills):
                point = points[number % len(points)]
                self.wait_kill_point(point)
                self.kill(point)
                left = {intent.id for intent in open_intents(self.state_dir)}
                self.counts.left_open += len(left)
                log = self.start()
                started = time.monotonic()
                self.seen_diffs.clear()
                self.check_recovered(left)
                try:
                    wait_for(self.converged, "the desired state after a restart", RESYNC_S)
                except AssertionError as late:
                    first, last = self.seen_diffs[0], self.seen_diffs[-1]
                    raise AssertionError(
                        f"{late} after kill {number} ({point}): first {first}, last {last};"
                        f" the daemon said:\n{log.read_text()}"
                    ) from None
                self.counts.converge_s.append(time.monotonic() - started)
                assert "Traceback" not in log.read_text()
        finally:
            code = self.stop()
        assert code == 0
        assert not any("Traceback" in log.read_text() for log in self.logs)
        return self.counts

    def check_recovered(self, left: set[int | None]) -> None:
        closing = {r.intent_id: r for r in audit_of(self.state_dir) if r.event_type == "outcome"}
        for intent_id in left:
            outcome = closing.get(intent_id)
            assert outcome is not None, f"intent {intent_id} still open after the restart"
            assert outcome.reason == RECOVERY_REASON
            assert outcome.result in ("applied", "not_applied", "unknown")
            self.counts.recovered += 1
