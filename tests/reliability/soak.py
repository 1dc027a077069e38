"""The soak: the daemon's engine against the emulator with faults on every platform, driven
across simulated days with explicit `now` values, its invariants checked after every pass
from the emulator's raw state, its request log and the audit log.

`run_soak(emu, config_path, state_dir, days=1)` → `SoakCounts`; `counts.violations` lists
every broken invariant (one line each) and must stay empty.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from flowtui.config import load_config
from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.reconcile import Action, Report
from flowtui.model import FlowRef, State
from flowtui.providers.base import SETTABLE
from flowtui.providers.transport import RetryPolicy
from flowtui.rules import Schedule
from flowtui.store import SqliteStore

START = datetime(2031, 11, 24, 0, 0, tzinfo=UTC)  # a Monday
RESYNC = timedelta(minutes=15)
RETRY_AFTER = timedelta(seconds=5)  # the daemon's first retry after a transient failure
PLATFORMS = {"support": "diga", "ops": "gassapi", "studio": "runflow", "crm": "bitrix24"}
SWITCH = "checkout-ab"
FAST = RetryPolicy(scale=0.001)


@dataclass
class SoakCounts:
    passes: int = 0
    transitions: int = 0  # changes the engine made and verified
    retry_passes: int = 0  # extra passes after transient failures
    failures: int = 0  # flows a pass reported failed
    toggles: int = 0  # GASSAPI toggles and Bitrix24 activates applied (checked one by one)
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind
    both_off_after_failure: int = 0  # A/B passes that ended with neither group on, failure audited
    violations: list[str] = field(default_factory=list)

    def summary(self) -> str:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        return (
            f"passes {self.passes}, transitions {self.transitions}, retry passes"
            f" {self.retry_passes}, transport retries up to"
            f" {self.faults['5xx'] + self.faults['429']} (5xx and 429 answers), failures"
            f" {self.failures}, toggles applied {self.toggles},"
            f" faults injected {sum(self.faults.values())} ({faults}),"
            f" A/B passes left with neither group after a recorded failure"
            f" {self.both_off_after_failure}, invariant violations {len(self.violations)}"
        )


def secrets_env(emu: Any) -> dict[str, str]:
    return {
        "SOAK_DIGA": emu.token,
        "SOAK_GASS": emu.token,
        "SOAK_GASS_REFRESH": emu.gassapi_refresh_token,
        "SOAK_RUNFLOW": emu.token,
        "SOAK_B24": emu.bitrix24_webhook_url,
    }


def actual_states(emu: Any) -> dict[FlowRef, State]:
    """Every flow's state as the emulator holds it (not as any client reads it)."""
    raw = emu.state()
    states: dict[FlowRef, State] = {}
    for flow in raw["diga"]["flows"]:
        on = State.ENABLED if flow["status"] == "ENABLED" else State.DISABLED
        states[FlowRef("support", str(flow["id"]))] = (
            on if flow["published"] else State.NOT_PUBLISHED
        )
    for flow in raw["gassapi"]["flows"]:
        on = bool(int(flow["is_active"]))
        states[FlowRef("ops", str(flow["id"]))] = State.ENABLED if on else State.DISABLED
    for flow in raw["runflow"]["flows"]:
        on = flow["status_code"] == "active"
        states[FlowRef("studio", str(flow["id"]))] = State.ENABLED if on else State.DISABLED
    for flow in raw["bitrix24"]["flows"]:
        states[FlowRef("crm", str(flow["id"]))] = (
            State.ENABLED if flow["active"] else State.DISABLED
        )
    return states


@dataclass(frozen=True)
class SoakFlows:
    """The flows the rules name, picked from the emulator's seed data."""

    diga: list[str]
    gassapi: list[str]
    runflow: list[str]
    bitrix24: list[str]

    @classmethod
    def pick(cls, emu: Any) -> SoakFlows:
        raw = emu.state()
        members = {p["id"] for p in raw["gassapi"]["projects"] if p["member"]}
        diga = [str(f["id"]) for f in raw["diga"]["flows"] if f["published"]]
        gass = [str(f["id"]) for f in raw["gassapi"]["flows"] if f["project_id"] in members]
        return cls(
            diga=diga[:6],
            gassapi=gass[:4],
            runflow=[str(f["id"]) for f in raw["runflow"]["flows"]][:4],
            bitrix24=[str(f["id"]) for f in raw["bitrix24"]["flows"]][:4],
        )

    def refs(self, account: str, ids: list[str]) -> list[str]:
        return [f"{account}:{i}" for i in ids]

    @property
    def group_a(self) -> list[str]:
        return [f"support:{self.diga[4]}", f"studio:{self.runflow[2]}"]

    @property
    def group_b(self) -> list[str]:
        return [f"support:{self.diga[5]}", f"studio:{self.runflow[3]}"]


def soak_config(emu: Any, picked: SoakFlows) -> str:
    """Example-like rules: maintenance windows with restore (enforced and not), a weekly
    night window crossing midnight, and an A/B switch in break-before-make order."""
    bitrix_ids = [int(i) for i in picked.bitrix24]
    return f"""
[settings]
timezone = "Europe/Berlin"
resync = "15m"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "SOAK_DIGA"
timeout = "PT0.5S"

[accounts.ops]
kind = "gassapi"
base_url = "{emu.gassapi_url}"
token_env = "SOAK_GASS"
refresh_token_env = "SOAK_GASS_REFRESH"
toggle_only = true
timeout = "PT0.5S"

[accounts.studio]
kind = "runflow"
base_url = "{emu.runflow_url}"
token_env = "SOAK_RUNFLOW"
timeout = "PT0.5S"

[accounts.crm]
kind = "bitrix24"
webhook_url_env = "SOAK_B24"
flow_ids = {bitrix_ids}
rate = 20
burst = 50
timeout = "PT0.5S"

[[maintenance]]
name = "diga-every-6h"
flows = {picked.refs("support", picked.diga[:4])}
cron = "0 */6 * * *"
duration = "2h"
after = "restore"
enforce = true

[[maintenance]]
name = "ops-nightly"
flows = {picked.refs("ops", picked.gassapi)}
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "22:00"
to = "02:00"
after = "restore"
enforce = true

[[maintenance]]
name = "crm-every-3h"
flows = {picked.refs("crm", picked.bitrix24)}
cron = "30 */3 * * *"
duration = "1h"
after = "enabled"

[[maintenance]]
name = "studio-noon"
flows = {picked.refs("studio", picked.runflow[:2])}
cron = "0 12 * * *"
duration = "90m"
after = "restore"
enforce = true

[[ab_switch]]
name = "{SWITCH}"
a = {picked.group_a}
b = {picked.group_b}
every = "8h"
start = 2026-11-01T00:00:00Z
order = "break-before-make"
"""


class Soak:
    """Drives one Scheduler like its APScheduler jobs would, injecting faults between passes."""

    def __init__(self, emu: Any, config_path: Path, state_dir: Path, seed: int) -> None:
        self.emu = emu
        self.config_path = config_path
        self.state_dir = state_dir
        self.rng = random.Random(seed)
        self.counts = SoakCounts()
        self.picked = SoakFlows.pick(emu)
        config_path.write_text(soak_config(emu, self.picked))
        self.clock = ManualClock(START)
        self.scheduler = Scheduler(
            config_path, state_dir, None, self.clock, env=secrets_env(emu), retry=FAST
        )
        self.store = SqliteStore.in_dir(state_dir)
        self.running: dict[str, int] = {}  # GASSAPI flow → passes it stays "running"
        self.schedule = Schedule(load_config(config_path))
        self.governed: set[FlowRef] = set()
        self.ungoverned: dict[FlowRef, State] = {}

    # -- faults ---------------------------------------------------------------------------

    def _baseline_faults(self) -> None:
        for platform in PLATFORMS.values():
            self.emu.set_fault(platform, error_rate=0.05)
        self.emu.set_fault("runflow", rate_limit_per_s=20, rate_limit_burst=4, retry_after_s=1)
        self.emu.set_fault("bitrix24", bucket_drain_per_s=20, bucket_threshold=50)

    def _inject(self) -> list[str]:
        """Random faults for the next pass; returns the platforms given a latency spike."""
        spiked = []
        for platform in PLATFORMS.values():
            if self.rng.random() < 0.08:
                self.emu.set_fault(platform, latency_ms=300)
                spiked.append(platform)
                self.counts.faults["latency spike"] += 1
            if self.rng.random() < 0.04:
                self.emu.set_fault(platform, drop_after_apply=1)
        if self.rng.random() < 0.05:
            self.emu.expire_tokens("gassapi")
            self.counts.faults["token expiry"] += 1
        if self.rng.random() < 0.06:
            flow = self.rng.choice(self.picked.gassapi)
            self.emu.set_flow("gassapi", flow, running=True)
            self.running[flow] = self.rng.randint(1, 4)
            self.counts.faults["running flow"] += 1
        if self.rng.random() < 0.05:  # someone changes an enforced flow by hand
            flow = self.rng.choice(self.picked.diga[:4])
            self.emu.set_flow("diga", flow, active=self.rng.random() < 0.5)
            self.counts.faults["foreign change"] += 1
        return spiked

    def _calm(self, spiked: list[str]) -> None:
        for platform in spiked:
            self.emu.set_fault(platform, latency_ms=0)
        for flow, left in list(self.running.items()):
            if left <= 1:
                self.emu.set_flow("gassapi", flow, running=False)
                del self.running[flow]
            else:
                self.running[flow] = left - 1

    # -- the run --------------------------------------------------------------------------

    async def run(self, days: float) -> SoakCounts:
        self.emu.clear_requests()
        before = actual_states(self.emu)
        self._baseline_faults()
        self.governed = self._governed_now(START)
        await self.scheduler.open()
        self._learn_governed(before)
        try:
            await self._loop(START + timedelta(days=days), before)
        finally:
            await self.scheduler.close()
            self.store.close()
        return self.counts

    def _learn_governed(self, before: dict[FlowRef, State]) -> None:
        """Flows no rule names must never be written."""
        named = {
            FlowRef.parse(ref) for ids in (self.picked.group_a, self.picked.group_b) for ref in ids
        } | {
            FlowRef(account, flow_id)
            for account, ids in (
                ("support", self.picked.diga),
                ("ops", self.picked.gassapi),
                ("studio", self.picked.runflow),
                ("crm", self.picked.bitrix24),
            )
            for flow_id in ids
        }
        self.ungoverned = {ref: s for ref, s in before.items() if ref not in named}

    def _governed_now(self, now: datetime) -> set[FlowRef]:
        """The flows the rules give a state to at `now` (recorded priors as the pass saw
        them), worked out apart from the engine."""
        desired = self.schedule.desired(now, self.store.all_prior_states(), [])
        return {ref for ref, want in desired.items() if want.state in SETTABLE}

    async def _loop(self, end: datetime, before: dict[FlowRef, State]) -> None:
        self._check(self.scheduler.last_report, "start", before)
        last_resync = now = START
        retry_at: datetime | None = None
        while now < end:
            upcoming = [(last_resync + RESYNC, "resync")]
            if self.scheduler.next_transition is not None:
                upcoming.append((self.scheduler.next_transition, "transition"))
            if retry_at is not None:
                upcoming.append((retry_at, "retry"))
            now, trigger = min(upcoming)
            if trigger == "resync":
                last_resync = now
            retry_at = None
            spiked = self._inject()
            before = actual_states(self.emu)
            self.governed = self._governed_now(now)
            self.clock.set(now)
            report = await self.scheduler.converge_now(now, trigger)
            self._calm(spiked)
            self._check(report, trigger, before)
            if any(o.failed and not o.permanent for o in report.outcomes):
                retry_at = now + RETRY_AFTER
                self.counts.retry_passes += 1

    # -- invariants -----------------------------------------------------------------------

    def _violation(self, report: Report, message: str) -> None:
        self.counts.violations.append(f"{report.at.isoformat()}: {message}")

    def _check(self, report: Report | None, trigger: str, before: dict[FlowRef, State]) -> None:
        assert report is not None
        requests = self.emu.requests()
        self.emu.clear_requests()
        after = actual_states(self.emu)
        self.counts.passes += 1
        self.counts.transitions += report.count(Action.CHANGED)
        self.counts.failures += sum(1 for o in report.outcomes if o.failed)
        self.counts.faults["5xx"] += sum(1 for r in requests if r["status"] >= 500)
        self.counts.faults["429"] += sum(1 for r in requests if r["status"] == 429)
        self.counts.faults["dropped answer"] += sum(1 for r in requests if r["dropped"])
        if self.store.open_intents():
            self._violation(report, f"intents without outcome: {self.store.open_intents()}")
        self._check_outcomes(report, after, trigger)
        self._check_toggles(report, requests, before, after)
        self._check_switch(report, after)
        self._check_ungoverned(report, requests, after)

    def _check_outcomes(self, report: Report, after: dict[FlowRef, State], trigger: str) -> None:
        """Each flow a pass reports in its desired state is in it on the platform; after a
        resync every governed flow is reported (in its state, failed, or drift audited)."""
        seen = set()
        for outcome in report.outcomes:
            seen.add(outcome.flow)
            if outcome.action in (Action.CHANGED, Action.ALREADY):
                if after[outcome.flow] is not outcome.desired:
                    self._violation(
                        report,
                        f"{outcome.flow} reported {outcome.action} to {outcome.desired}"
                        f" but is {after[outcome.flow]}",
                    )
            elif outcome.action is Action.DRIFT:
                drift = self.store.audit(flow=outcome.flow, limit=50)
                if not any(r.event_type == "drift" for r in drift):
                    self._violation(report, f"{outcome.flow} drift not audited")
            elif outcome.action is Action.FAILED and not outcome.error:
                self._violation(report, f"{outcome.flow} failed without a reason")
        if trigger == "resync" and seen != self.governed:
            missing = sorted(map(str, self.governed - seen))
            self._violation(report, f"resync did not cover {missing}")

    def _check_toggles(
        self,
        report: Report,
        requests: list[dict[str, Any]],
        before: dict[FlowRef, State],
        after: dict[FlowRef, State],
    ) -> None:
        """A toggle is never applied twice: per GASSAPI flow, the applied toggles equal its
        flips; on Bitrix24 (whose log hides the flow id) the applied activates equal the
        flips of its flows. Nobody but the engine changes those flows in the soak."""
        applied = [r for r in requests if r["status"] == 200 or r["dropped"]]
        toggles: Counter[str] = Counter()
        for request in applied:
            query = parse_qs(request["query"])
            if query.get("act") == ["flow_toggle_active"]:
                toggles[query["id"][0]] += 1
        for flow_id in self.picked.gassapi:
            ref = FlowRef("ops", flow_id)
            flips = int(before[ref] is not after[ref])
            if toggles[flow_id] != flips:
                self._violation(report, f"{ref}: {toggles[flow_id]} toggles applied, {flips} flips")
        self.counts.toggles += sum(toggles.values())
        activates = sum(
            r["applied"]
            for r in applied
            if r["path"].endswith(("tasks.flow.Flow.activate", "/batch", "/batch.json"))
        )
        flips = sum(
            1
            for i in self.picked.bitrix24
            if before[FlowRef("crm", i)] is not after[FlowRef("crm", i)]
        )
        self.counts.toggles += activates
        if activates != flips:
            self._violation(report, f"bitrix24: {activates} activates applied, {flips} flips")

    def _check_switch(self, report: Report, after: dict[FlowRef, State]) -> None:
        """Break-before-make never ends a pass with neither group on unless the pass
        recorded the failure that left it so (the next retry pass then repairs it)."""
        groups = [self.picked.group_a, self.picked.group_b]
        on = [any(after[FlowRef.parse(ref)] is State.ENABLED for ref in g) for g in groups]
        if any(on):
            return
        failed = [o for o in report.outcomes if o.rule == SWITCH and o.failed]
        if failed:
            self.counts.both_off_after_failure += 1
        else:
            self._violation(report, f"{SWITCH}: neither group is on and no failure recorded")

    def _check_ungoverned(
        self, report: Report, requests: list[dict[str, Any]], after: dict[FlowRef, State]
    ) -> None:
        for ref, state in self.ungoverned.items():
            if after[ref] is not state:
                self._violation(report, f"ungoverned {ref} changed from {state} to {after[ref]}")
        ungoverned = {(PLATFORMS[ref.account], ref.flow_id) for ref in self.ungoverned}
        for request in requests:
            if request["method"] == "GET":
                continue
            named = set(request["path"].split("/")) | set(parse_qs(request["query"]).get("id", []))
            if {(request["platform"], name) for name in named} & ungoverned:
                self._violation(report, f"write to an ungoverned flow: {request['path']}")


async def run_soak(
    emu: Any, config_path: Path, state_dir: Path, days: float, seed: int = 7
) -> SoakCounts:
    return await Soak(emu, config_path, state_dir, seed).run(days)
