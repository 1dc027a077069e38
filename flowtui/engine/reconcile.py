"""Converge governed flows to their desired states (SPEC §3): read actual state (batched
per account), change only what differs, verify, audit intent before and outcome after
every change, and publish what happened on the event bus.

What counts as a transition: the engine remembers, per flow, the desired state it saw at
its last pass. A desired state different from that memory is a transition and is applied.
A change that failed transiently is retried while its desired state holds. Otherwise a
flow not in its (unchanged) desired state has drifted — corrected when the rule enforces,
else audited once and reported. `forget()` empties the memory, so the next pass converges
everything (start, after a gap, on resume).

A/B switches change their two groups in the configured order and roll back to the old
group when the new one cannot be switched on, so a service is never left with neither.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from flowtui.config import AbSwitchRule, AccountWildcard, Bitrix24Account, Config, MaintenanceRule
from flowtui.engine.clock import Clock, real_span
from flowtui.engine.events import (
    AccountFailed,
    DriftDetected,
    EventBus,
    FlowChanged,
    PlannedChange,
    RuleFired,
)
from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    SETTABLE,
    ChangeResult,
    Flow,
    NotFound,
    NotPublished,
    Outcome,
    Provider,
    ProviderError,
    SendGate,
    Superseded,
    Transient,
    send_gate,
)
from flowtui.providers.bulk import converge_many
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.rules import DesiredState, FlowKey, Override, Schedule, Timeline, timeline_for
from flowtui.store import SKIP, AuditRecord, Fenced, IntentOutcome, Store

log = logging.getLogger(LOGGER_NAME)

RECOVERY_REASON = "recovery after restart"
ACCOUNT = "account:"  # unit names: one lane per account …
SWITCH = "switch:"  # … and one per A/B switch
TICK = timedelta(microseconds=1)
NEAR_HORIZONS = (timedelta(minutes=1), timedelta(hours=1))
MIN_HORIZON = timedelta(minutes=1)  # how far ahead an answer knows each flow's next change
DEFAULT_GUARD = timedelta(seconds=10)
MIN_GUARD = timedelta(milliseconds=100)
FORGOTTEN = ""  # the desired memory of a flow whose change is in flight
Reading = Flow | ProviderError


class Action(StrEnum):
    CHANGED = "changed"
    ALREADY = "already"
    FAILED = "failed"
    DRIFT = "drift"  # differs from desired; reported, not corrected (rule does not enforce)
    WOULD_CHANGE = "would_change"  # dry run
    SUPERSEDED = "superseded"  # not sent: a boundary passed since it was planned


@dataclass(frozen=True)
class FlowOutcome:
    """What one pass did with one governed flow."""

    flow: FlowRef
    desired: State
    rule: str
    reason: str
    action: Action
    before: State | None
    after: State | None
    error: str | None = None
    permanent: bool = False

    @property
    def failed(self) -> bool:
        return self.action is Action.FAILED


@dataclass
class Report:
    """The outcome of one converge pass."""

    at: datetime
    outcomes: list[FlowOutcome] = field(default_factory=list)
    account_errors: dict[str, str] = field(default_factory=dict)

    def count(self, action: Action) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action is action)

    @property
    def failed(self) -> bool:
        return bool(self.account_errors) or any(o.failed for o in self.outcomes)


@dataclass(frozen=True)
class Answer:
    """The rules' answer at `at`: each governed flow's desired state, the prior states it
    used, and the first transition of each flow that has one before `horizon`."""

    at: datetime
    governed: dict[FlowRef, DesiredState]
    priors: dict[str, dict[FlowRef, State]]
    changes: dict[FlowKey, datetime]
    horizon: datetime


@dataclass(frozen=True)
class _Change:
    """One change to send: `flow` from `before` to `target`, on behalf of `rule`."""

    flow: FlowRef
    want: DesiredState
    target: State
    before: State
    reason: str
    rule: str
    transition: bool = False  # the desired state changed (not a retry or drift correction)

    @property
    def changed_by(self) -> str:
        return f"scheduler:{self.rule}"


def overrides_from(store: Store, now: datetime) -> list[Override]:
    """The store's overrides in force at `now`, as the rules module takes them."""
    return [
        Override(record.flow, None if record.state == SKIP else State(record.state), record.until)
        for record in store.overrides(now=now)
    ]


class Reconciler:
    """Converges one configuration's governed flows; remembers the desired states it saw."""

    def __init__(
        self,
        config: Config,
        providers: Mapping[str, Provider],
        store: Store,
        bus: EventBus,
        clock: Clock,
        *,
        provider_errors: Mapping[str, ProviderError] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.dry_run = dry_run
        self._seen: dict[FlowRef, str] = {}  # desired state at the last pass (_memory_key)
        self._stored: dict[FlowRef, str] = {}  # the same, as the store holds it
        self._pending: dict[FlowRef, DesiredState] = {}  # transient failures, to retry
        self._left: dict[FlowRef, DesiredState] = {}  # permanent failures, left until changed
        self._drift: dict[FlowRef, tuple[State, State]] = {}
        self._reported: dict[str, str] = {}  # account or flow → last error published
        self._known: dict[str, list[str]] = {}  # the last listing of each `account:*` account
        self._compiled: tuple[Config, dict[str, tuple[str, ...]], Schedule] | None = None
        self._answer: tuple[object, Answer] | None = None
        self._round_trip: dict[str, float] = {}  # real seconds of each account's last read
        # team mode: whether this replica still leads (the daemon's lease count); asked
        # between recording intents and sending them, as a stall may fall in between
        self.may_send: Callable[[], bool] = lambda: True
        self.update(config, providers, provider_errors or {})

    def update(
        self,
        config: Config,
        providers: Mapping[str, Provider],
        provider_errors: Mapping[str, ProviderError],
    ) -> None:
        """Use a reloaded configuration. The memory stays: flows whose desired state did
        not change are not touched again; new or changed ones converge at the next pass."""
        self.config = config
        self.providers = dict(providers)
        self.provider_errors = dict(provider_errors)
        self._switches = {rule.name: rule for rule in config.ab_switch if not rule.paused}
        self._timelines: dict[str, Timeline] = {
            rule.name: timeline_for(rule, config.zone(rule))
            for rule in config.maintenance
            if not rule.paused
        }
        self._restoring = {rule.name for rule in config.maintenance if rule.after == "restore"}
        named = {
            config.resolve(ref)
            for rule in config.rules
            if not rule.paused
            for ref in (rule.flows if isinstance(rule, MaintenanceRule) else (*rule.a, *rule.b))
        }
        self._used = {key.account for key in named}  # accounts some active rule governs
        self._listed = sorted(
            key.account
            for key in named
            if isinstance(key, AccountWildcard)
            and not isinstance(config.accounts[key.account], Bitrix24Account)
        )
        self._known = {a: ids for a, ids in self._known.items() if a in self._listed}

    # -- reading ------------------------------------------------------------------------

    def _provider_error(self, account: str) -> ProviderError:
        return self.provider_errors.get(account) or NotFound(f"no account named {account!r}")

    async def _read_account(self, account: str, ids: list[str]) -> dict[str, Reading]:
        provider = self.providers.get(account)
        if provider is None:
            return dict.fromkeys(ids, self._provider_error(account))
        try:
            with self._timed(account):
                return await provider.get_flows(ids)
        except ProviderError as exc:
            return dict.fromkeys(ids, exc)
        except Exception as exc:  # one broken account must not stop the others
            log.exception("%s: unexpected error while reading", account)
            return dict.fromkeys(ids, Transient(f"unexpected error: {type(exc).__name__}"))

    async def read(self, refs: Iterable[FlowRef]) -> dict[FlowRef, Reading]:
        """Current state of `refs`, one batched read per account, accounts concurrently."""
        by_account: dict[str, list[str]] = defaultdict(list)
        for ref in dict.fromkeys(refs):
            by_account[ref.account].append(ref.flow_id)
        answers = await asyncio.gather(
            *(self._read_account(account, ids) for account, ids in by_account.items())
        )
        return {
            FlowRef(account, flow_id): reading
            for account, answer in zip(by_account, answers, strict=True)
            for flow_id, reading in answer.items()
        }

    async def _list(self, account: str) -> list[Flow] | ProviderError:
        provider = self.providers.get(account)
        if provider is None:
            return self._provider_error(account)
        try:
            with self._timed(account):
                return await provider.list_flows()
        except ProviderError as exc:
            return exc
        except Exception as exc:
            log.exception("%s: unexpected error while listing", account)
            return Transient(f"unexpected error: {type(exc).__name__}")

    # -- recovery -----------------------------------------------------------------------

    async def recover(self) -> list[AuditRecord]:
        """Close every intent a crash left open: read the flow and audit what it is now."""
        intents = self.store.open_intents()
        if not intents:
            return []
        readings = await self.read(intent.flow for intent in intents)
        closed = []
        for intent in intents:
            reading = readings[intent.flow]
            state = reading.state if isinstance(reading, Flow) else None
            if state is None:
                result = "unknown"
            else:
                result = "applied" if str(state) == intent.new_status else "not_applied"
            error = str(reading) if isinstance(reading, ProviderError) else None
            record = AuditRecord(
                event_type="outcome",
                flow=intent.flow,
                changed_by=intent.changed_by,
                timestamp=self.clock.now(),
                old_status=intent.old_status,
                new_status=None if state is None else str(state),
                result=result,
                error=error,
                reason=RECOVERY_REASON,
                intent_id=intent.id,
            )
            record = replace(record, id=self.store.record_event(record))
            closed.append(record)
            self.bus.publish(
                FlowChanged(
                    intent.flow,
                    None,
                    state or State.UNKNOWN,
                    intent.changed_by,
                    RECOVERY_REASON,
                    record.timestamp,
                    error,
                )
            )
        return closed

    # -- the rules' answer ------------------------------------------------------------------

    def _schedule(self) -> Schedule:
        """The compiled rules, rebuilt only when the configuration or an account's flow
        list changed: building one costs 50-150 ms at 1,000 rules, while a kept one answers
        later passes from its caches in about 10 ms."""
        known = {account: tuple(ids) for account, ids in self._known.items()}
        if (
            self._compiled is None
            or self._compiled[0] is not self.config
            or self._compiled[1] != known
        ):
            self._compiled = (self.config, known, Schedule(self.config, known))
            self._answer = None
        return self._compiled[2]

    def answer(self, now: datetime) -> Answer:
        """The rules' answer at `now`, computed once for every unit that asks at `now`."""
        priors = self._priors()
        overrides = overrides_from(self.store, now)
        schedule = self._schedule()
        key = (now, tuple(overrides), _frozen(priors))
        if self._answer is not None and self._answer[0] == key:
            return self._answer[1]
        desired = schedule.desired(now, priors, overrides)
        refs = sorted((k for k in desired if isinstance(k, FlowRef)), key=tuple)
        governed = {ref: desired[ref] for ref in refs if desired[ref].state in SETTABLE}
        horizon = now + self._horizon()
        changes: dict[FlowKey, datetime] = {}
        for transition in schedule.transitions(now + TICK, horizon, priors, overrides):
            changes.setdefault(transition.flow, transition.at)
        answer = Answer(now, governed, priors, changes, horizon)
        self._answer = (key, answer)
        return answer

    def next_transition(self, now: datetime) -> datetime | None:
        """The first transition after `now`: near horizons first, as a rule that switches
        every few seconds makes a long search slow."""
        schedule = self._schedule()
        priors = self._priors()
        overrides = overrides_from(self.store, now)
        for horizon in NEAR_HORIZONS:
            found = schedule.transitions(now + TICK, now + horizon, priors, overrides)
            if found:
                return found[0].at
        later = schedule.next_transition(now, priors, overrides)
        return later.at if later else None

    def _priors(self) -> dict[str, dict[FlowRef, State]]:
        recorded = self.store.all_prior_states()
        return {name: recorded.get(name, {}) for name in self._restoring}

    @contextmanager
    def _timed(self, account: str) -> Iterator[None]:
        """Note how long the account took to answer a read (slow or failing alike)."""
        began = time.monotonic()
        try:
            yield
        finally:
            self._round_trip[account] = time.monotonic() - began

    def _guard(self, account: str, scale: float) -> timedelta:
        """How long after sending a change it may still land, on the engine's clock: twice
        the account's last read, at least MIN_GUARD, at most its timeout (the longest the
        client waits for an answer). `scale`: engine seconds per real second."""
        config = self.config.accounts.get(account)
        timeout = config.timeout if config is not None else DEFAULT_GUARD
        measured = timedelta(seconds=2 * self._round_trip.get(account, timeout.total_seconds()))
        return min(timeout, max(MIN_GUARD, measured)) * scale

    def _scale(self) -> float:
        """Engine seconds per real second (1 but for compressed test clocks)."""
        real = real_span(self.clock, MIN_HORIZON)
        return MIN_HORIZON / real if real > timedelta(0) else 1.0

    def _horizon(self) -> timedelta:
        scale = self._scale()
        guards = [self._guard(account, scale) for account in self.config.accounts]
        return max(MIN_HORIZON, 3 * max(guards, default=DEFAULT_GUARD))

    def _gate(self, answer: Answer) -> SendGate:
        """Whether a change planned from `answer` may be sent now: only while its flow's
        desired state is still the one planned and no transition of the flow can come
        before it lands (SPEC §3: never sent stale). A pass that outlives its answer's
        horizon asks the rules again rather than giving up."""
        scale = self._scale()
        current = answer

        def still_wanted(ref: FlowRef, state: State) -> bool:
            nonlocal current
            lands_by = self.clock.now() + self._guard(ref.account, scale)
            if lands_by >= current.horizon:
                current = self.answer(self.clock.now())
                want = current.governed.get(ref)
                if want is None or want.state != state:
                    return False
            change = current.changes.get(ref) or current.changes.get(AccountWildcard(ref.account))
            return change is None or lands_by < change

        return still_wanted

    # -- units --------------------------------------------------------------------------

    def units(self) -> list[str]:
        """The independent lanes of work: one per account (an override may govern a flow
        that no rule names), one per A/B switch."""
        accounts = [f"{ACCOUNT}{name}" for name in sorted(self.config.accounts)]
        return accounts + [f"{SWITCH}{name}" for name in sorted(self._switches)]

    async def converge(self, now: datetime, *, full: bool = True) -> Report:
        """Every unit at `now`, concurrently (`flowtui daemon --once`, tests)."""
        units = self.units()
        reports = await asyncio.gather(*(self.converge_unit(u, now, full=full) for u in units))
        return merge_reports(now, reports)

    async def converge_unit(self, unit: str, now: datetime, *, full: bool = True) -> Report:
        """Bring one unit's governed flows to their desired states at `now` (module doc).

        `full` (start, resync, reload): read every governed flow, so drift is found. Not
        full (a transition came due): read and change only the flows whose desired state
        differs from the one last applied (with the whole group of an A/B switch), reusing
        the last listing of `account:*` accounts — the fast path from boundary to change."""
        report = Report(now)
        account = unit.removeprefix(ACCOUNT) if unit.startswith(ACCOUNT) else None
        readings: dict[FlowRef, Reading] = {}
        listing = None
        if account is not None:
            listing = await self._observe_account(account, now, report, full)
            readings.update(listing or {})
        answer = self.answer(now)
        governed = {
            ref: want
            for ref, want in answer.governed.items()
            if (
                ref.account == account and want.rule not in self._switches
                if account is not None
                else want.rule == unit.removeprefix(SWITCH)
            )
        }
        if not full:
            governed = self._due(governed)
        for ref in governed:
            if ref not in readings and listing is not None:
                readings[ref] = NotFound(f"{ref} is not among the account's flows")
        readings.update(await self.read(ref for ref in governed if ref not in readings))
        readings = {ref: readings[ref] for ref in governed}
        if not self.dry_run:
            self._save_priors(now, governed, readings, answer.priors)
        changes = self._plan(now, governed, readings, report)
        if self.dry_run:
            for change in changes.values():
                self.bus.publish(
                    PlannedChange(
                        change.flow, change.before, change.target, change.rule, change.reason, now
                    )
                )
                report.outcomes.append(_outcome(change, Action.WOULD_CHANGE, change.before))
            return report
        self._announce(now, changes)
        try:
            with _gated(self._gate(answer)):
                outcomes = await self._execute(changes, governed, readings)
        except BaseException:
            # cut off (the store refused an intent, the lease was lost, a stop): what was
            # planned is still a transition to make, not drift, at this process's next pass
            for ref, change in changes.items():
                self._pending[ref] = change.want
            raise
        for outcome in outcomes:
            self._remember(outcome, changes[outcome.flow].want)
            report.outcomes.append(outcome)
        self._clear_restored(now, report.outcomes, answer.priors)
        self._persist_memory(governed, report.outcomes)
        return report

    async def _observe_account(
        self, account: str, now: datetime, report: Report, full: bool
    ) -> dict[FlowRef, Reading] | None:
        """List an `account:*` account when due (one batched read that also tells which
        flows it has; None when not listed now), and report the account's error if any."""
        readings: dict[FlowRef, Reading] | None = None
        error = self.provider_errors.get(account)
        if error is not None and account in self._used:  # unused, it cannot fail a pass
            report.account_errors[account] = str(error)
        elif account in self._listed and (full or account not in self._known):
            listing = await self._list(account)
            if isinstance(listing, ProviderError):
                report.account_errors[account] = str(listing)
                self._known.pop(account, None)
            else:
                self._known[account] = [flow.ref.flow_id for flow in listing]
                readings = {flow.ref: flow for flow in listing}
        self._publish_account_error(account, report.account_errors.get(account), now, full)
        return readings

    def load_memory(self) -> None:
        """Take the desired states the last run applied from the store: on start, a flow
        whose desired state changed since is a missed transition, one that did not but is
        off its state is drift (SPEC §3)."""
        self._stored = self.store.desired_memory()
        self._seen = dict(self._stored)

    def _persist_memory(
        self, governed: Mapping[FlowRef, DesiredState], outcomes: Iterable[FlowOutcome]
    ) -> None:
        """Record the desired states now applied or confirmed (not failed ones: after a
        restart those are still transitions to make)."""
        done = {
            o.flow: _memory_key(governed[o.flow])
            for o in outcomes
            if o.action in (Action.CHANGED, Action.ALREADY, Action.DRIFT) and o.flow in governed
        }
        self._remember_desired(done)

    def _remember_desired(self, entries: Mapping[FlowRef, str]) -> None:
        fresh = {ref: key for ref, key in entries.items() if self._stored.get(ref) != key}
        if fresh:
            self.store.remember_desired(fresh, at=self.clock.now())
            self._stored.update(fresh)

    def _due(self, governed: Mapping[FlowRef, DesiredState]) -> dict[FlowRef, DesiredState]:
        """The flows whose desired state changed since the last pass or whose last change
        failed transiently, plus every flow of an A/B switch one of them belongs to (its
        order and rollback need them all)."""
        due = {
            ref
            for ref, want in governed.items()
            if self._seen.get(ref) != _memory_key(want) or self._pending.get(ref) == want
        }
        switches = {governed[ref].rule for ref in due} & set(self._switches)
        return {ref: want for ref, want in governed.items() if ref in due or want.rule in switches}

    async def _execute(
        self,
        changes: Mapping[FlowRef, _Change],
        governed: Mapping[FlowRef, DesiredState],
        readings: Mapping[FlowRef, Reading],
    ) -> list[FlowOutcome]:
        """Plain changes all at once; each A/B switch in its order; all concurrently."""
        by_switch: dict[str, dict[FlowRef, _Change]] = defaultdict(dict)
        plain: dict[FlowRef, _Change] = {}
        for ref, change in changes.items():
            if change.rule in self._switches:
                by_switch[change.rule][ref] = change
            else:
                plain[ref] = change
        results = await asyncio.gather(
            self._apply(plain, {r: f for r, f in readings.items() if isinstance(f, Flow)}),
            *(
                self._switch(self._switches[name], group, governed, readings)
                for name, group in by_switch.items()
            ),
        )
        return [outcome for outcomes in results for outcome in outcomes.values()]

    def _in_window(self, rule: str, now: datetime) -> bool:
        timeline = self._timelines.get(rule)
        return timeline is not None and any(
            start <= now < end for start, end in timeline.windows(now, now)
        )

    def _save_priors(
        self,
        now: datetime,
        governed: Mapping[FlowRef, DesiredState],
        readings: Mapping[FlowRef, Reading],
        priors: Mapping[str, Mapping[FlowRef, State]],
    ) -> None:
        """At a window's start, note each flow's state so `after = "restore"` can put it
        back (the store keeps the first record, so a restart mid-window cannot spoil it)."""
        by_rule: dict[str, dict[FlowRef, State]] = defaultdict(dict)
        for ref, want in governed.items():
            reading = readings[ref]
            if (
                want.rule in self._restoring
                and ref not in priors[want.rule]
                and isinstance(reading, Flow)
                and reading.state in SETTABLE
                and self._in_window(want.rule, now)
            ):
                by_rule[want.rule][ref] = reading.state
        for rule, states in by_rule.items():
            self.store.save_prior_states(rule, states, at=self.clock.now())

    def _clear_restored(
        self,
        now: datetime,
        outcomes: Iterable[FlowOutcome],
        priors: Mapping[str, Mapping[FlowRef, State]],
    ) -> None:
        """A flow put back after its window no longer needs its record, nor the records
        other closed windows hold of it: a window that opened inside another one recorded
        that window's state, not the one to go back to."""
        for outcome in outcomes:
            if (
                outcome.action in (Action.CHANGED, Action.ALREADY)
                and outcome.flow in priors.get(outcome.rule, {})
                and not self._in_window(outcome.rule, now)
            ):
                for rule, states in priors.items():
                    if outcome.flow in states and not self._in_window(rule, now):
                        self.store.clear_prior_states(rule, [outcome.flow])

    def _plan(
        self,
        now: datetime,
        governed: Mapping[FlowRef, DesiredState],
        readings: Mapping[FlowRef, Reading],
        report: Report,
    ) -> dict[FlowRef, _Change]:
        """Decide per flow: nothing, a change, a drift report, or a failure to report."""
        changes: dict[FlowRef, _Change] = {}
        for ref, want in governed.items():
            target = State(want.state)  # type: ignore[arg-type]  # SETTABLE, never "restore"
            reading = readings[ref]
            if isinstance(reading, ProviderError):
                report.outcomes.append(_failure(ref, want, None, reading))
                self._publish_flow_error(ref, want, None, reading, now)
                continue
            transition = self._seen.get(ref) != _memory_key(want)
            if not self.dry_run:
                self._seen[ref] = _memory_key(want)
            if reading.state == target:
                report.outcomes.append(
                    FlowOutcome(ref, target, want.rule, want.reason, Action.ALREADY, target, target)
                )
                self._settle(ref)
                continue
            if self._left.get(ref) == want:
                error = f"left as {reading.state}: an earlier attempt failed permanently"
                report.outcomes.append(
                    FlowOutcome(
                        ref,
                        target,
                        want.rule,
                        want.reason,
                        Action.FAILED,
                        reading.state,
                        reading.state,
                        error,
                        True,
                    )
                )
                continue
            if transition or self._pending.get(ref) == want:
                changes[ref] = _Change(
                    ref, want, target, reading.state, want.reason, want.rule, transition
                )
                continue
            self._report_drift(ref, want, reading.state, target, now)
            if want.enforced:
                reason = f"drift ({want.reason})"
                changes[ref] = _Change(ref, want, target, reading.state, reason, want.rule, False)
            else:
                report.outcomes.append(
                    FlowOutcome(
                        ref,
                        target,
                        want.rule,
                        "drift",
                        Action.DRIFT,
                        reading.state,
                        reading.state,
                    )
                )
        return changes

    def _report_drift(
        self, ref: FlowRef, want: DesiredState, actual: State, target: State, now: datetime
    ) -> None:
        """Audit and publish drift once per episode (enforced drift is corrected at once,
        so each of its episodes is new)."""
        if not want.enforced and self._drift.get(ref) == (actual, target):
            return
        self._drift[ref] = (actual, target)
        self.bus.publish(DriftDetected(ref, actual, target, want.rule, want.enforced, now))
        if self.dry_run:
            return
        self.store.record_event(
            AuditRecord(
                event_type="drift",
                flow=ref,
                changed_by=f"scheduler:{want.rule}",
                timestamp=self.clock.now(),
                old_status=str(actual),
                new_status=str(target),
                result="corrected" if want.enforced else "reported",
                reason=f"drift ({want.reason})",
            )
        )

    def _announce(self, now: datetime, changes: Mapping[FlowRef, _Change]) -> None:
        fired: dict[str, int] = defaultdict(int)
        for change in changes.values():
            if change.transition:
                fired[change.rule] += 1
        for rule, flows in fired.items():
            self.bus.publish(RuleFired(rule, now, flows))

    def _settle(self, ref: FlowRef) -> None:
        """`ref` is in its desired state: forget its troubles."""
        self._pending.pop(ref, None)
        self._left.pop(ref, None)
        self._drift.pop(ref, None)
        self._reported.pop(str(ref), None)

    def _remember(self, outcome: FlowOutcome, want: DesiredState) -> None:
        if outcome.action in (Action.CHANGED, Action.ALREADY):
            self._settle(outcome.flow)
        elif outcome.permanent:
            self._pending.pop(outcome.flow, None)
            self._left[outcome.flow] = want
        else:
            self._pending[outcome.flow] = want

    # -- changing -------------------------------------------------------------------------

    async def _apply(
        self, changes: Mapping[FlowRef, _Change], known: Mapping[FlowRef, Flow] | None = None
    ) -> dict[FlowRef, FlowOutcome]:
        """Intent, converge and verify, outcome: for every change, accounts concurrently.
        `known`: the flows as this pass just read them (spares a platform that can use them,
        Bitrix24, a second read before its toggles)."""
        if not changes:
            return {}
        at = self.clock.now()
        # a change in flight makes its flow's memory void: killed now, a restart finds a
        # transition to make, not drift to leave
        self._remember_desired(dict.fromkeys(changes, FORGOTTEN))
        ids = self.store.record_events(  # one write for all, before anything is sent
            [
                AuditRecord(
                    "intent",
                    ref,
                    change.changed_by,
                    at,
                    old_status=str(change.before),
                    new_status=str(change.target),
                    reason=change.reason,
                )
                for ref, change in changes.items()
            ]
        )
        intents = dict(zip(changes, ids, strict=True))
        for ref, change in changes.items():
            self.bus.publish(
                FlowChanged(ref, change.before, State.PENDING, change.changed_by, change.reason, at)
            )
        if not self.may_send():  # deposed while recording (SIGSTOP, a stall): send nothing
            raise Fenced(
                "not sent: the lease ran out after the intents were recorded;"
                " the next leader re-verifies them"
            )
        results = await converge_many(
            self.providers, {ref: change.target for ref, change in changes.items()}, known=known
        )
        done = self.clock.now()
        outcomes = {}
        closing = []
        events = []
        for result in results:
            change = changes[result.ref]
            outcome = outcomes[result.ref] = _from_result(change, result)
            superseded = outcome.action is Action.SUPERSEDED
            state = change.before if superseded else result.state
            closing.append(
                IntentOutcome(
                    intents[result.ref],
                    new_status=str(state),
                    result=str(Action.SUPERSEDED) if superseded else result.outcome.value,
                    at=done,
                    error=outcome.error,
                )
            )
            events.append(
                FlowChanged(
                    result.ref,
                    change.before,
                    state,
                    change.changed_by,
                    change.reason,
                    done,
                    outcome.error,
                )
            )
        self.store.record_outcomes(closing)
        for event in events:
            self.bus.publish(event)
        self._remember_desired(
            {
                ref: _memory_key(changes[ref].want)
                for ref, outcome in outcomes.items()
                if outcome.action in (Action.CHANGED, Action.ALREADY)
                and changes[ref].target == changes[ref].want.state  # not a rollback
            }
        )
        return outcomes

    async def _switch(
        self,
        rule: AbSwitchRule,
        changes: Mapping[FlowRef, _Change],
        governed: Mapping[FlowRef, DesiredState],
        readings: Mapping[FlowRef, Reading],
    ) -> dict[FlowRef, FlowOutcome]:
        """Switch one A/B rule's groups in its order; roll back if the switch fails."""
        on = {ref: c for ref, c in changes.items() if c.target is State.ENABLED}
        off = {ref: c for ref, c in changes.items() if c.target is State.DISABLED}
        blocker = self._blocker(rule, governed, readings) if off else None
        if blocker is not None:
            return {
                ref: _failure(ref, change.want, change.before, blocker)
                for ref, change in changes.items()
            }
        breaking = rule.order == "break-before-make"
        first, second = (off, on) if breaking else (on, off)
        done = await self._apply(first)
        failed = [o for o in done.values() if o.failed or o.action is Action.SUPERSEDED]
        if not failed:
            done.update(await self._apply(second))
            failed = [o for o in done.values() if o.failed or o.action is Action.SUPERSEDED]
            if not failed or not breaking:
                # make-before-break with the old group still on: never neither, nothing to undo
                return done
        why = f"{failed[0].flow}: {failed[0].error}"
        undo = {
            ref: _Change(
                ref,
                change.want,
                change.before,
                change.target,
                f"rollback of switch {rule.name!r} ({why})",
                rule.name,
            )
            for ref, change in changes.items()
            if ref in done and done[ref].action is Action.CHANGED
        }
        with _gated(None):  # putting the old group back is never stale: never neither
            undone = await self._apply(undo)
        for ref in changes:
            if ref not in done:
                done[ref] = _failure(
                    ref, changes[ref].want, changes[ref].before, Transient(f"not started: {why}")
                )
            elif ref in undone:
                rolled = undone[ref]
                error = f"rolled back to {rolled.after} ({why})"
                if rolled.failed:
                    error = f"rollback failed: {rolled.error} ({why})"
                done[ref] = replace(
                    done[ref], action=Action.FAILED, after=rolled.after, error=error
                )
        return done

    def _blocker(
        self,
        rule: AbSwitchRule,
        governed: Mapping[FlowRef, DesiredState],
        readings: Mapping[FlowRef, Reading],
    ) -> ProviderError | None:
        """Why the switch must not start: a flow of the group to switch on that cannot be
        read, is not published, or failed permanently before."""
        for ref, want in governed.items():
            if want.rule != rule.name or want.state is not State.ENABLED:
                continue
            reading = readings[ref]
            if isinstance(reading, ProviderError):
                return type(reading)(f"switch held: {ref} cannot be read: {reading}")
            if reading.state is State.NOT_PUBLISHED:
                return NotPublished(f"switch held: {ref} is not published")
            if self._left.get(ref) == want and reading.state is not State.ENABLED:
                return NotFound(f"switch held: {ref} failed permanently before")
        return None

    # -- reporting ------------------------------------------------------------------------

    def _publish_account_error(
        self, account: str, error: str | None, now: datetime, full: bool
    ) -> None:
        """Publish an account's error when it is new; a full pass forgets a healed one."""
        key = f"account:{account}"
        if error is None:
            if full:
                self._reported.pop(key, None)
        elif self._reported.get(key) != error:
            self._reported[key] = error
            self.bus.publish(AccountFailed(account, error, now))

    def _publish_flow_error(
        self,
        ref: FlowRef,
        want: DesiredState,
        before: State | None,
        error: ProviderError,
        now: datetime,
    ) -> None:
        if ref.account in self.provider_errors or self._reported.get(str(ref)) == str(error):
            return
        self._reported[str(ref)] = str(error)
        changed_by = f"scheduler:{want.rule}"
        self.bus.publish(
            FlowChanged(ref, before, State.UNKNOWN, changed_by, want.reason, now, str(error))
        )


def _outcome(change: _Change, action: Action, after: State | None) -> FlowOutcome:
    return FlowOutcome(
        change.flow, change.target, change.rule, change.reason, action, change.before, after
    )


def _from_result(change: _Change, result: ChangeResult) -> FlowOutcome:
    if isinstance(result.error, Superseded):
        return replace(_outcome(change, Action.SUPERSEDED, change.before), error=str(result.error))
    if result.outcome is Outcome.FAILED:
        assert result.error is not None
        return replace(
            _outcome(change, Action.FAILED, result.state),
            error=str(result.error),
            permanent=result.error.permanent,
        )
    action = Action.CHANGED if result.outcome is Outcome.CHANGED else Action.ALREADY
    return _outcome(change, action, result.state)


def _failure(
    ref: FlowRef, want: DesiredState, before: State | None, error: ProviderError
) -> FlowOutcome:
    return FlowOutcome(
        ref,
        State(want.state),  # type: ignore[arg-type]
        want.rule,
        want.reason,
        Action.FAILED,
        before,
        before,
        str(error),
        error.permanent,
    )


def _memory_key(want: DesiredState) -> str:
    """A desired state as the store remembers it: equal keys, same desired state."""
    return f"{want.state}|{want.rule}|{int(want.enforced)}|{want.reason}"


def _frozen(priors: Mapping[str, Mapping[FlowRef, State]]) -> object:
    return tuple(sorted((rule, tuple(sorted(states.items()))) for rule, states in priors.items()))


@contextmanager
def _gated(gate: SendGate | None) -> Iterator[None]:
    token = send_gate.set(gate)
    try:
        yield
    finally:
        send_gate.reset(token)


def merge_reports(at: datetime, reports: Iterable[Report]) -> Report:
    """One report from the reports of several units."""
    merged = Report(at)
    for report in reports:
        merged.outcomes.extend(report.outcomes)
        merged.account_errors.update(report.account_errors)
    return merged
