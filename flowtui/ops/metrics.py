"""The daemon's Prometheus metrics (SPEC §9), in their own registry.

Fed from two sides, both on the event loop and both only counting (no I/O, no waiting): the
scheduler's events (`observe`) and every account's HTTP traffic (the transport observer
hook, flowtui.providers.observers). Scrapes read the registry from the HTTP thread.

Labels are bounded: account, rule, reason, status, state — never a flow name or id.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flowtui.engine.clock import Clock
from flowtui.engine.events import (
    ConfigReloaded,
    DriftDetected,
    Event,
    FlowChanged,
    PassCompleted,
    RuleFired,
    SchedulerState,
    SchedulerStatus,
)
from flowtui.engine.reconcile import Report
from flowtui.model import FlowRef, State
from flowtui.ops.passes import flow_states, reachability

SECONDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
SCHEDULING = (SchedulerStatus.RUNNING, SchedulerStatus.PAUSED)


def change_reason(reason: str) -> str:
    """The audit reason of a change, as a bounded label: drift, rollback or transition (a
    rule's or an override's wanted state, first try or retry)."""
    if reason.startswith("drift"):
        return "drift"
    if reason.startswith("rollback"):
        return "rollback"
    return "transition"


def rule_of(changed_by: str) -> str:
    return changed_by.removeprefix("scheduler:") if changed_by.startswith("scheduler:") else "-"


class TokenExpiry(Collector):
    """`flowtui_token_expiry_seconds{account}`, computed when scraped."""

    def __init__(self) -> None:
        self.expires: dict[str, float] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "flowtui_token_expiry_seconds",
            "Seconds until the access token of each account with an expiring token expires"
            " (negative: expired, a refresh is due).",
            labels=["account"],
        )
        now = time.time()
        for account, at in sorted(dict(self.expires).items()):
            family.add_metric([account], at - now)
        yield family


class Metrics:
    """Every metric of SPEC §9; `observe(event)` for the bus, observer methods for HTTP."""

    def __init__(
        self,
        clock: Clock,
        *,
        report: Callable[[], Report | None] = lambda: None,
        planned: Callable[[], datetime | None] = lambda: None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """`report`: the last pass's report (read when a pass completes); `planned`: the
        transition the scheduler plans to wake up for next (noted after every event and by
        `note_plan`, so that a rule that fires is matched with the boundary it was planned
        for, even though a pass plans its successor before it acts)."""
        self.clock = clock
        self._report = report
        self._planned_next = planned
        self._planned: deque[datetime] = deque(maxlen=16)  # recent planned boundaries
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.flows = Gauge(
            "flowtui_flows",
            "Governed flows by account and the state the last pass left them in.",
            ["account", "state"],
            registry=r,
        )
        self.account_up = Gauge(
            "flowtui_account_up",
            "1 when the last pass could read the account.",
            ["account"],
            registry=r,
        )
        self.applied = Counter(
            "flowtui_transitions_applied",
            "Changes verified in their wanted state (audit outcomes changed or already).",
            ["rule", "reason"],
            registry=r,
        )
        self.failed = Counter(
            "flowtui_transitions_failed",
            "Changes that failed (audit outcomes failed).",
            ["rule", "reason"],
            registry=r,
        )
        self.drift = Counter(
            "flowtui_drift_detected", "Drift episodes found, by rule.", ["rule"], registry=r
        )
        self.pass_duration = Histogram(
            "flowtui_pass_duration_seconds",
            "Time of one converge pass.",
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.boundary_latency = Histogram(
            "flowtui_boundary_latency_seconds",
            "From a rule's transition instant to the verified change of each flow it moved.",
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "flowtui_requests",
            "HTTP exchanges with the platforms (status: HTTP status, timeout or error).",
            ["account", "status"],
            registry=r,
        )
        self.retries = Counter(
            "flowtui_retries",
            "Requests sent again, by the status that made them retry.",
            ["account", "status"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "flowtui_rate_limit_waits",
            "Waits for a rate limit (the platform's answer or the client-side bucket).",
            ["account"],
            registry=r,
        )
        self.rate_limit_seconds = Counter(
            "flowtui_rate_limit_wait_seconds",
            "Time spent waiting for rate limits.",
            ["account"],
            registry=r,
        )
        self.tokens = TokenExpiry()
        r.register(self.tokens)
        self.leader = Gauge(
            "flowtui_leader", "1 when this process holds the scheduler (and schedules).", registry=r
        )
        self.last_pass = Gauge(
            "flowtui_last_pass_timestamp_seconds", "When the last pass completed.", registry=r
        )
        self.last_good_pass = Gauge(
            "flowtui_last_good_pass_timestamp_seconds",
            "When the last pass completed with every flow it looked at converged.",
            registry=r,
        )
        self.reloads = Counter(
            "flowtui_config_reloads",
            "Configuration reloads by status (accepted, refused).",
            ["status"],
            registry=r,
        )
        self.notifications = Counter(
            "flowtui_notifications",
            "Webhook notifications by status (sent, failed, dropped).",
            ["status"],
            registry=r,
        )
        self._intents: dict[FlowRef, str] = {}  # flow → changed_by of its change in flight
        self._fired: dict[str, datetime] = {}  # rule → boundary of its transition this pass
        self._flow_states: dict[FlowRef, State] = {}
        self._series: set[tuple[str, str]] = set()  # (account, state) pairs ever set

    # -- the event bus ----------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        match event:
            case FlowChanged(new=State.PENDING):
                self._intents[event.flow] = event.changed_by
            case FlowChanged() if self._intents.pop(event.flow, None) is not None:
                self._outcome(event)
            case RuleFired():
                passed = [at for at in self._planned if at <= event.at]
                self._fired[event.rule] = max(passed, default=event.at)
            case DriftDetected():
                self.drift.labels(event.rule).inc()
            case PassCompleted():
                self._pass(event)
            case ConfigReloaded():
                self.reloads.labels("accepted" if event.ok else "refused").inc()
                if event.ok:  # flows no rule governs any more leave the gauge at the next pass
                    self._flow_states.clear()
            case SchedulerState():
                self.leader.set(1 if event.status in SCHEDULING else 0)
        self.note_plan()

    def note_plan(self) -> None:
        """Remember the transition the scheduler now plans to wake up for."""
        upcoming = self._planned_next()
        if upcoming is not None and (not self._planned or self._planned[-1] != upcoming):
            self._planned.append(upcoming)

    def _outcome(self, event: FlowChanged) -> None:
        """The outcome of a change whose intent was seen: counted as the audit records it."""
        rule, reason = rule_of(event.changed_by), change_reason(event.reason)
        if event.error is not None:
            self.failed.labels(rule, reason).inc()
            return
        self.applied.labels(rule, reason).inc()
        fired = self._fired.get(rule)
        if fired is not None and reason == "transition" and event.at >= fired:
            self.boundary_latency.observe((event.at - fired).total_seconds())

    def _pass(self, event: PassCompleted) -> None:
        self._fired.clear()
        done = self.clock.now()
        self.pass_duration.observe(max(0.0, (done - event.at).total_seconds()))
        self.last_pass.set(done.timestamp())
        if event.failed == 0:
            self.last_good_pass.set(done.timestamp())
        report = self._report()
        if report is None:
            return
        for account, error in reachability(report).items():
            self.account_up.labels(account).set(0 if error else 1)
        self._flow_states.update(flow_states(report.outcomes))
        counts: dict[tuple[str, str], int] = {}
        for ref, state in self._flow_states.items():
            key = (ref.account, str(state))
            counts[key] = counts.get(key, 0) + 1
        for account, label in self._series - counts.keys():
            self.flows.labels(account, label).set(0)
        for (account, label), count in counts.items():
            self.flows.labels(account, label).set(count)
        self._series |= counts.keys()

    # -- the transport observer hook --------------------------------------------------------

    def requested(self, account: str, status: str) -> None:
        self.requests.labels(account, status).inc()

    def retried(self, account: str, status: str) -> None:
        self.retries.labels(account, status).inc()

    def rate_limited(self, account: str, seconds: float) -> None:
        self.rate_limit_waits.labels(account).inc()
        self.rate_limit_seconds.labels(account).inc(seconds)

    def token_expires(self, account: str, at: float | None) -> None:
        if at is None:
            self.tokens.expires.pop(account, None)
        else:
            self.tokens.expires[account] = at
