"""Desired flow states from rules, overrides and recorded prior states (SPEC §2, §3). Pure:
time is always a parameter.

Precedence, highest first:
  4. an active override (`state=None` means "skip": don't touch the flow);
  3. an open maintenance window — higher `priority` wins, then `disabled`, then file order;
  2. an A/B switch (group B on inside its B windows, group A on otherwise; first in file
     wins when two switches govern one flow, which `conflicts` reports);
  1. a maintenance rule's `after` state, from the end of one of its windows until its
     next window (never enforced). `after = "restore"` means the state recorded in
     `prior_states[rule][flow]` when the window began; without a record the flow is left
     alone by `desired` and shown as "restore" by `transitions`.
Paused rules govern nothing; a flow no rule governs is absent from the result.

Wildcards: `account:*` expands to `known_flows[account]` when given, or to a Bitrix24
account's configured `flow_ids`; otherwise it stays one `AccountWildcard` entry (as `plan`
shows it without network), standing for the account's other flows, plus the flows of that
account the file names elsewhere.

Cron runs on the rule's wall clock (flowtui.crontab); a wall time that does not exist
(spring forward) maps to the first valid instant after it, one that exists twice (fall
back) to the first of the two. Windows are half-open and adjacent windows of a rule merge.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from flowtui.config import (
    WEEKDAYS,
    AbSwitchRule,
    AccountWildcard,
    Bitrix24Account,
    Config,
    ConfigProblem,
    MaintenanceRule,
    Rule,
)
from flowtui.crontab import MINUTES_PER_DAY, WallCron
from flowtui.durations import format_duration
from flowtui.model import FlowRef, State

FlowKey = FlowRef | AccountWildcard
Target = State | Literal["restore"] | None
Window = tuple[datetime, datetime]
Path = tuple[str | int, ...]
PriorStates = Mapping[str, Mapping[FlowRef, State]]

RESTORE: Literal["restore"] = "restore"
OVERRIDE = "override"
_TICK = timedelta(microseconds=1)
_SPAN_AHEAD = timedelta(days=1)
_DST_SLACK = timedelta(hours=3)  # more than any DST shift: wall time vs. elapsed time
_LOOKBACK = tuple(timedelta(days=days) for days in (1, 8, 32, 367, 2923))


@dataclass(frozen=True)
class Override:
    """An operator's pin of one flow until `until`; `state=None` means skip (don't touch)."""

    flow: FlowRef
    state: State | None
    until: datetime


@dataclass(frozen=True)
class DesiredState:
    """What a flow should be now and who says so. `state` None: don't touch."""

    state: Target
    rule: str  # a rule name, or "override"
    enforced: bool
    reason: str


class Transition(NamedTuple):
    """The desired state of `flow` changes at `at` (UTC) because of `rule`. (A named
    tuple: a week of a thousand rules makes tens of thousands.)"""

    at: datetime
    rule: str
    flow: FlowKey
    from_state: Target
    to_state: Target


# -- time -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def local_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall time in `zone`, with the DST rules of SPEC §2."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    low, high = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    if low.astimezone(zone).replace(tzinfo=None) == wall:
        return low  # exists twice: the first
    # Does not exist: the first instant whose wall time is past it (the transition).
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else local_instant(value, zone)


@functools.lru_cache(maxsize=4096)
def _cron(expression: str) -> WallCron:
    return WallCron(expression)


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Sorted, with overlapping and adjacent windows merged."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


# -- the windows of one rule ----------------------------------------------------------


class Timeline:
    """The windows of one rule: a maintenance rule's windows, an A/B switch's B windows."""

    reach = timedelta(days=2)  # at least the longest single window
    begins: datetime | None = None  # the instant the rule starts to govern (None: always)

    def raw(self, start: datetime, end: datetime) -> list[Window]:
        """Unmerged windows including all that touch [start, end] (maybe a few more)."""
        raise NotImplementedError

    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """Merged windows touching [start, end]."""
        return self.span(start, end)[0]

    def span(self, start: datetime, end: datetime) -> tuple[list[Window], bool]:
        """`windows`, and whether a window is seen to start before `start` on the way (so
        that `started_before(start)` needs no search)."""
        merged = merge_windows(self.raw(start - self.reach, end + self.reach))
        found = [window for window in merged if window[1] >= start and window[0] <= end]
        return found, bool(merged) and merged[0][0] < start

    def started_before(self, moment: datetime) -> bool:
        """Whether any window starts before `moment` (searching back up to eight years)."""
        return any(
            any(begin < moment for begin, _ in self.raw(moment - lookback, moment))
            for lookback in _LOOKBACK
        )


class CronTimeline(Timeline):
    """Windows of `length` starting at each cron fire on the rule's wall clock."""

    def __init__(
        self, expression: str, length: timedelta, zone: ZoneInfo, except_dates: Iterable[date]
    ) -> None:
        self.cron = _cron(expression)
        self.reach = length
        self.zone = zone
        self.except_dates = frozenset(except_dates)

    def raw(self, start: datetime, end: datetime) -> list[Window]:
        fires = self.cron.fires(
            _wall(start - self.reach, self.zone) - _DST_SLACK,
            _wall(end, self.zone) + _DST_SLACK,
        )
        starts = {
            local_instant(fire, self.zone) for fire in fires if fire.date() not in self.except_dates
        }
        return [(begin, begin + self.reach) for begin in starts]

    def started_before(self, moment: datetime) -> bool:
        # One cron step from the furthest lookback: its first fire (not on an except date)
        # is the earliest start in the whole range, so it answers for every shorter one.
        fire = self.cron.next_fire(_wall(moment - _LOOKBACK[-1], self.zone) - _DST_SLACK)
        while fire is not None and fire.date() in self.except_dates:
            fire = self.cron.next_fire(fire)
        return fire is not None and local_instant(fire, self.zone) < moment


class OnceTimeline(Timeline):
    def __init__(self, window: Window) -> None:
        self.window = window

    def raw(self, start: datetime, end: datetime) -> list[Window]:
        return [self.window]

    def started_before(self, moment: datetime) -> bool:
        return self.window[0] < moment


class WeeklyTimeline(Timeline):
    """On each listed weekday from `begin` to `finish` local time (the next day when
    `finish <= begin`), except on `except_dates`."""

    reach = timedelta(hours=27)  # a day, plus a DST shift

    def __init__(
        self,
        days: Iterable[str],
        begin: time,
        finish: time,
        zone: ZoneInfo,
        except_dates: Iterable[date],
    ) -> None:
        self.weekdays = {WEEKDAYS.index(day) for day in days}
        self.begin, self.finish = begin, finish
        self.zone = zone
        self.except_dates = frozenset(except_dates)

    def raw(self, start: datetime, end: datetime) -> list[Window]:
        first = _wall(start, self.zone).date() - timedelta(days=1)
        last = _wall(end, self.zone).date()
        found = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.weekdays or day in self.except_dates:
                continue
            end_day = day + timedelta(days=1) if self.finish <= self.begin else day
            begin = local_instant(datetime.combine(day, self.begin), self.zone)
            finish = local_instant(datetime.combine(end_day, self.finish), self.zone)
            if finish > begin:
                found.append((begin, finish))
        return found


class AlternateTimeline(Timeline):
    """B windows of an alternation A, B, A, … of `half` each from `origin` on."""

    def __init__(self, origin: datetime, half: timedelta) -> None:
        self.origin, self.reach = origin, half
        self.begins = origin  # SPEC §2: A from `start`, nothing governed before it

    def raw(self, start: datetime, end: datetime) -> list[Window]:
        period = 2 * self.reach
        first = max(0, (start - self.origin) // period - 1)
        last = (end - self.origin) // period + 1
        return [
            (self.origin + k * period + self.reach, self.origin + (k + 1) * period)
            for k in range(first, last + 1)
        ]

    def started_before(self, moment: datetime) -> bool:
        """SPEC §2: a switch by `every` + `start` governs nothing before `start`."""
        return moment >= self.origin


def timeline_for(rule: Rule, zone: ZoneInfo) -> Timeline:
    """The timeline of a validated rule (the form decides which fields are set)."""
    if isinstance(rule, AbSwitchRule):
        if rule.b_cron and rule.b_duration:
            return CronTimeline(rule.b_cron, rule.b_duration, zone, ())
        if rule.start and rule.every:
            return AlternateTimeline(_aware(rule.start, zone), rule.every)
    elif rule.cron and rule.duration:
        return CronTimeline(rule.cron, rule.duration, zone, rule.except_dates)
    elif rule.start and rule.end:
        return OnceTimeline((_aware(rule.start, zone), _aware(rule.end, zone)))
    elif rule.days and rule.from_ and rule.to:
        return WeeklyTimeline(rule.days, rule.from_, rule.to, zone, rule.except_dates)
    raise ValueError(f"rule {rule.name!r} has no complete window form")


# -- rules as layers of desired states ------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One active rule, compiled: its flows, its timeline and its place in precedence."""

    index: int
    rule: Rule
    timeline: Timeline
    flows: frozenset[FlowKey]  # maintenance: all; A/B: both groups
    group_a: frozenset[FlowKey]
    group_b: frozenset[FlowKey]


class _Span:
    """An entry's windows over a range, answering "in a window at t?" by bisection."""

    def __init__(self, timeline: Timeline, range_start: datetime, range_end: datetime) -> None:
        windows, earlier = timeline.span(range_start, range_end)
        self.starts = [window[0] for window in windows]
        self.ends = [window[1] for window in windows]
        self._timeline = timeline
        self._range_start = range_start
        self._started_before_range: bool | None = True if earlier else None

    def inside(self, moment: datetime) -> bool:
        position = bisect.bisect_right(self.starts, moment) - 1
        return position >= 0 and moment < self.ends[position]

    def after(self, moment: datetime) -> bool:
        """Whether some window began before `moment` (and so, outside one, has ended)."""
        if self.starts and self.starts[0] < moment:
            return True
        if self._started_before_range is None:
            self._started_before_range = self._timeline.started_before(self._range_start)
        return self._started_before_range


def _rule_refs(rule: Rule) -> tuple[str, ...]:
    return rule.flows if isinstance(rule, MaintenanceRule) else (*rule.a, *rule.b)


# FlowRef(account, flow_id) from a pair, a Transition from its five fields, without a
# Python-level call (what their __new__ does): a Schedule of ten thousand flows makes a
# FlowRef per flow and reference, a week's plan tens of thousands of Transitions.
_flow_ref = functools.partial(tuple.__new__, FlowRef)
_transition = functools.partial(tuple.__new__, Transition)


def _resolve_all(config: Config, refs: Iterable[str]) -> dict[str, FlowKey]:
    """`config.resolve` of every ref; a plain `account:flow_id` (nearly every ref of a big
    file) without the calls."""
    aliases, accounts = config.flows, config.accounts
    found: dict[str, FlowKey] = {}
    for ref in refs:
        account, sep, flow_id = ref.partition(":")
        if sep and flow_id and flow_id != "*" and account in accounts and ref not in aliases:
            found[ref] = _flow_ref((account, flow_id))
        else:
            found[ref] = config.resolve(ref)
    return found


class Schedule:
    """A configuration compiled for evaluation; reuse it across instants."""

    def __init__(
        self, config: Config, known_flows: Mapping[str, Collection[str]] | None = None
    ) -> None:
        self.config = config
        self._known = dict(known_flows or {})
        for name, account in config.accounts.items():
            if isinstance(account, Bitrix24Account) and name not in self._known:
                self._known[name] = [str(flow_id) for flow_id in account.flow_ids]
        refs = dict.fromkeys(
            itertools.chain(config.flows.values(), *(_rule_refs(rule) for rule in config.rules))
        )
        self._resolved = _resolve_all(config, refs)
        self._wildcards = {
            ref for ref, key in self._resolved.items() if isinstance(key, AccountWildcard)
        }
        self._span_cache: tuple[datetime, datetime, dict[int, _Span]] | None = None
        self._layout_cache: _Layout | None = None
        self._phases: dict[tuple[int, str], Mapping[FlowKey, DesiredState]] = {}
        self._entries: list[_Entry] = []
        for index, rule in enumerate(config.rules):
            if rule.paused:
                continue
            timeline = timeline_for(rule, config.zone(rule))
            if isinstance(rule, MaintenanceRule):
                flows = self._expand(rule.flows)
                entry = _Entry(index, rule, timeline, flows, frozenset(), frozenset())
            else:
                group_a, group_b = self._expand(rule.a), self._expand(rule.b)
                entry = _Entry(index, rule, timeline, group_a | group_b, group_a, group_b)
            self._entries.append(entry)
        # The order `desired` lays the entries on top of each other (the last wins): the
        # `after` of maintenance rules, the switches, the open windows (see `_layers`).
        governing = [entry for entry in self._entries if entry.flows]
        maintenance = [entry for entry in governing if isinstance(entry.rule, MaintenanceRule)]
        self._after_order = sorted(maintenance, key=_after_rank)
        self._switch_order = [
            entry for entry in reversed(governing) if isinstance(entry.rule, AbSwitchRule)
        ]
        self._window_order = sorted(maintenance, key=_window_rank)
        self._restored: dict[int, tuple[Mapping[FlowRef, State], dict[FlowKey, DesiredState]]] = {}

    def _expand(self, refs: Collection[str]) -> frozenset[FlowKey]:
        keys = set(map(self._resolved.__getitem__, refs))
        for ref in self._wildcards.intersection(refs):
            wildcard: AccountWildcard = self._resolved[ref]  # type: ignore[assignment]
            if (known := self._known.get(wildcard.account)) is not None:
                keys.discard(wildcard)
                keys.update(map(_flow_ref, zip(itertools.repeat(wildcard.account), known)))
            else:
                keys.update(self._named.get(wildcard.account, ()))
        return frozenset(keys)

    @functools.cached_property
    def _named(self) -> dict[str, set[FlowRef]]:
        """Each account's flows the file names: what `account:*` covers without a flow
        list (besides the wildcard itself)."""
        named: defaultdict[str, set[FlowRef]] = defaultdict(set)
        for key in self._resolved.values():
            if isinstance(key, FlowRef):
                named[key.account].add(key)
        return named

    def governed(self) -> dict[str, frozenset[FlowKey]]:
        """Each active rule's name → the flows it governs (both groups of a switch)."""
        return {entry.rule.name: entry.flows for entry in self._entries}

    # -- evaluation at one instant ------------------------------------------------------

    def _spans(self, start: datetime, end: datetime) -> dict[int, _Span]:
        return {entry.index: _Span(entry.timeline, start, end) for entry in self._entries}

    def _layers(
        self, spans: Mapping[int, _Span], moment: datetime, prior_states: PriorStates
    ) -> Iterator[Mapping[FlowKey, DesiredState]]:
        """The states of every layer that governs at `moment`, lowest precedence first:
        the `after` of maintenance rules whose window has been (by priority, then disabled,
        then the first in the file), the switches that govern (the first in the file
        last), the open maintenance windows (ranked as `after`)."""
        inside = {entry.index: spans[entry.index].inside(moment) for entry in self._entries}
        for entry in self._after_order:
            if not inside[entry.index] and spans[entry.index].after(moment):
                rule = entry.rule
                if isinstance(rule, MaintenanceRule) and rule.after == RESTORE:
                    yield self._restore(entry, rule, prior_states.get(rule.name, {}))
                else:
                    yield self._kept(entry, "after")
        for entry in self._switch_order:
            begins = entry.timeline.begins
            if begins is None or moment >= begins:
                yield self._kept(entry, "b" if inside[entry.index] else "a")
        for entry in self._window_order:
            if inside[entry.index]:
                yield self._kept(entry, "window")

    def _kept(self, entry: _Entry, phase: str) -> Mapping[FlowKey, DesiredState]:
        """An entry's states in a phase that depends on nothing else ("a", "b", "window",
        "after" unless restore), built once per Schedule and reused by every later pass."""
        key = (entry.index, phase)
        kept = self._phases.get(key)
        if kept is None:
            kept = self._phases[key] = _phase_states(entry, phase, entry.flows)
        return kept

    def _restore(
        self, entry: _Entry, rule: MaintenanceRule, priors: Mapping[FlowRef, State]
    ) -> Mapping[FlowKey, DesiredState]:
        """A rule's `after = "restore"` states (from the recorded prior states), rebuilt only
        when those differ from the last pass's (the engine reads them afresh every pass)."""
        kept = self._restored.get(entry.index)
        if kept is None or kept[0] != priors:
            states = _after_states(rule, entry.flows, priors)
            kept = self._restored[entry.index] = (dict(priors), states)
        return kept[1]

    def _evaluate(
        self,
        moment: datetime,
        spans: Mapping[int, _Span],
        prior_states: PriorStates,
        overrides: Iterable[Override],
    ) -> dict[FlowKey, DesiredState]:
        result: dict[FlowKey, DesiredState] = {}
        for states in self._layers(spans, moment, prior_states):
            result.update(states)
        for override in overrides:
            if override.until > moment:
                result[override.flow] = DesiredState(
                    override.state, OVERRIDE, True, f"override until {override.until.isoformat()}"
                )
        return result

    def desired(
        self,
        now: datetime,
        prior_states: PriorStates | None = None,
        overrides: Iterable[Override] = (),
    ) -> dict[FlowKey, DesiredState]:
        """Every governed flow's desired state at `now`."""
        return self._evaluate(now, self._spans_around(now), prior_states or {}, overrides)

    def _spans_around(self, now: datetime) -> dict[int, _Span]:
        """Windows over [now, now + a day], kept for later calls inside that range."""
        cached = self._span_cache
        if cached is None or not cached[0] <= now <= cached[1]:
            cached = self._span_cache = (
                now,
                now + _SPAN_AHEAD,
                self._spans(now, now + _SPAN_AHEAD),
            )
        return cached[2]

    # -- transitions ----------------------------------------------------------------------

    def transitions(
        self,
        start: datetime,
        end: datetime,
        prior_states: PriorStates | None = None,
        overrides: Iterable[Override] = (),
    ) -> list[Transition]:
        """Every change of a desired state at an instant in [start, end), sorted."""
        return [
            _transition((moment, rule, flow, old, new))
            for moment, rows in self.transition_rows(start, end, prior_states, overrides)
            for rule, _, flow, old, new in rows
        ]

    def transition_rows(
        self,
        start: datetime,
        end: datetime,
        prior_states: PriorStates | None = None,
        overrides: Iterable[Override] = (),
    ) -> Iterator[tuple[datetime, list[Row]]]:
        """`transitions` grouped by instant, in time order: each instant with its rows
        sorted by rule, then flow name (an instant's rows may be empty). What `plan`
        prints from, without one object per transition."""
        return self._transition_batches(start, end, prior_states or {}, list(overrides))

    def _transition_batches(
        self, start: datetime, end: datetime, priors: PriorStates, overrides: list[Override]
    ) -> Iterator[tuple[datetime, list[Row]]]:
        """The rows of each instant in [start, end) where some may happen, in time order.

        Flows governed by the same rules in the same roles (and without an override) always
        share one decision — which layer wins — so it is worked out once per such class at
        each instant where one of its rules changes; only a change emits per flow."""
        spans = self._spans(start - _TICK, end)
        changes: dict[datetime, set[int]] = {}
        for entry in self._entries:
            span = spans[entry.index]
            begins = () if entry.timeline.begins is None else (entry.timeline.begins,)
            for moment in itertools.chain(span.starts, span.ends, begins):
                if start <= moment < end:
                    if (indexes := changes.get(moment)) is None:
                        changes[moment] = {entry.index}
                    else:
                        indexes.add(entry.index)
        pinned: dict[FlowKey, list[Override]] = {}
        for override in overrides:
            pinned.setdefault(override.flow, []).append(override)
            if start <= override.until < end:
                changes.setdefault(override.until, set()).add(-1)
        sweep = _Sweep(self._layout(frozenset(pinned)), spans, priors, pinned)
        move, verdict, emit, by_entry = sweep.move, sweep.verdict, sweep.emit, sweep.layout.by_entry
        for entry in self._entries:
            move(entry.index, start - _TICK)
        current = [verdict(number, start - _TICK) for number in range(len(sweep.layout.items))]
        for moment in sorted(changes):
            touched: set[int] = set()
            for index in changes[moment]:
                if index >= 0:
                    move(index, moment)
                touched.update(by_entry.get(index, ()))
            rows: list[Row] = []
            for number in touched:
                after = verdict(number, moment)
                if after is not current[number]:
                    emit(number, current[number], after, rows)
                    current[number] = after
            rows.sort()
            yield moment, rows

    def _layout(self, pinned: frozenset[FlowKey]) -> _Layout:
        """The flows grouped into classes, kept while the overridden flows stay the same
        (the engine asks for the coming transitions at every pass)."""
        if self._layout_cache is None or self._layout_cache.pinned != pinned:
            self._layout_cache = _Layout(self._entries, pinned)
        return self._layout_cache

    def next_transition(
        self,
        after: datetime,
        prior_states: PriorStates | None = None,
        overrides: Iterable[Override] = (),
    ) -> Transition | None:
        """The first transition strictly after `after`, looking up to about eight years
        ahead; None if there is none."""
        overrides = list(overrides)
        begin = after + _TICK
        for horizon in _LOOKBACK:
            for moment, rows in self._transition_batches(
                begin, begin + horizon, prior_states or {}, overrides
            ):
                if rows:
                    rule, _, flow, old, new = rows[0]
                    return Transition(moment, rule, flow, old, new)
            begin += horizon
        return None


# -- transitions by classes of flows ---------------------------------------------------

# A class's desired state, who wants it and that layer's precedence: (precedence, state,
# rule). The state `_PRIORS` stands for a rule's `after = "restore"` with recorded prior
# states, which differ per flow. Each layer's verdicts are made once per sweep, so an
# unchanged verdict is the same object.
_PRIORS = object()
Verdict = tuple[int, Target | object, str | None]
_UNGOVERNED: Verdict = (0, None, None)
_ROLE_A, _ROLE_B = 1, 2
# One transition of an instant: rule, the flow's place in name order, flow, from, to
# (tuples sort by rule, then flow name, and are cheap to make by the ten thousand).
Row = tuple[str, int, FlowKey, Target, Target]


class _Layout:
    """The governed flows grouped by (rule, role) signature, each flow with an override
    alone, and the precedence of every layer. Depends only on the rules and the overridden
    flows, so a Schedule keeps it.

    Precedence (as in `Schedule._layers`), lowest first: nothing; a maintenance rule's
    `after` (by priority, then disabled, then the first in the file); a switch that governs
    (the first in the file wins); a maintenance window (ranked as `after`)."""

    def __init__(self, entries: list[_Entry], pinned: frozenset[FlowKey]) -> None:
        self.pinned = pinned
        self.entries = {entry.index: entry for entry in entries}
        signatures: defaultdict[FlowKey, list[int]] = defaultdict(list)
        for flow in pinned:
            signatures[flow] = []
        for entry in entries:
            item = _item(entry.index, 0)
            if isinstance(entry.rule, AbSwitchRule):
                group_b, in_a, in_b = entry.group_b, item + _ROLE_A, item + _ROLE_B
                for flow in entry.flows:
                    signatures[flow].append(in_b if flow in group_b else in_a)
            else:
                for flow in entry.flows:
                    signatures[flow].append(item)
        # Place in name order; a FlowRef's name is its fields joined by ':' (no call to
        # FlowRef.__str__ for each of ten thousand flows), account:* spelt by str.
        names = [":".join(flow) if len(flow) == 2 else str(flow) for flow in signatures]
        by_name = sorted(zip(names, signatures, strict=True))
        rank = {flow: place for place, (_, flow) in enumerate(by_name)}
        grouped: defaultdict[tuple[object, ...], list[tuple[int, FlowKey]]] = defaultdict(list)
        for flow, signature in signatures.items():
            key = (*signature, flow) if flow in pinned else tuple(signature)
            grouped[key].append((rank[flow], flow))
        # Each class's flows with their place in name order, sorted; its layers.
        self.members = [sorted(members) for members in grouped.values()]
        self.items = [tuple(signatures[members[0][1]]) for members in self.members]
        self.by_entry: dict[int, list[int]] = {-1: []}
        for number, items in enumerate(self.items):
            for item in items:
                self.by_entry.setdefault(item // 3, []).append(number)
            if self.members[number][0][1] in pinned:
                self.by_entry[-1].append(number)
        maintenance = [entry for entry in entries if isinstance(entry.rule, MaintenanceRule)]
        by_after = sorted(maintenance, key=_after_rank)
        by_window = sorted(maintenance, key=_window_rank)
        first_switch = len(maintenance) + 1 + max(self.entries, default=0)  # at index 0
        first_window = first_switch + 1
        self.after_rank = {entry.index: 1 + place for place, entry in enumerate(by_after)}
        self.inside_rank = {entry.index: first_window + p for p, entry in enumerate(by_window)}
        self.switch_rank = {index: first_switch - index for index in self.entries}


def _item(index: int, role: int) -> int:
    """A layer of a class: entry `index` in `role` (0: maintenance, else A or B)."""
    return 3 * index + role


_OVERRIDDEN = 1 << 62  # above every rule's layer


class _Sweep:
    """The verdict of every layer over one range, updated at its entry's edges (`move`);
    a class's verdict is the one of highest precedence among its layers (`verdict`), and
    `emit` turns a changed verdict into rows."""

    def __init__(
        self,
        layout: _Layout,
        spans: Mapping[int, _Span],
        priors: PriorStates,
        pinned: Mapping[FlowKey, list[Override]],
    ) -> None:
        self.layout = layout
        self._spans = spans
        self._priors = priors
        self._pins = {
            number: [
                (override.until, (_OVERRIDDEN, override.state, OVERRIDE))
                for override in pinned[layout.members[number][0][1]]
            ]
            for number in layout.by_entry[-1]
        }
        self.layers: list[Verdict] = [_UNGOVERNED] * (3 * (max(layout.entries, default=0) + 1))
        # Each entry's verdicts: inside a window, after one; a switch's for group B on, off.
        self._window: dict[int, tuple[Verdict, Verdict]] = {}
        self._switch: dict[int, tuple[Verdict, Verdict]] = {}
        for index, entry in layout.entries.items():
            rule = entry.rule
            if isinstance(rule, MaintenanceRule):
                after = _after_state(rule, priors)
                self._window[index] = (
                    (layout.inside_rank[index], rule.state, rule.name),
                    (layout.after_rank[index], _PRIORS if after is None else after, rule.name),
                )
            else:
                rank = layout.switch_rank[index]
                on, off = (rank, State.ENABLED, rule.name), (rank, State.DISABLED, rule.name)
                self._switch[index] = (on, off)

    def move(self, index: int, moment: datetime) -> None:
        """Bring entry `index`'s layers to `moment`."""
        span, layers = self._spans[index], self.layers
        if index in self._window:
            inside, after = self._window[index]
            layers[3 * index] = (
                inside if span.inside(moment) else after if span.after(moment) else _UNGOVERNED
            )
            return
        begins = self.layout.entries[index].timeline.begins
        if begins is not None and moment < begins:
            layers[3 * index + _ROLE_A] = layers[3 * index + _ROLE_B] = _UNGOVERNED
            return
        on, off = self._switch[index]
        on_b = span.inside(moment)
        layers[3 * index + _ROLE_B] = on if on_b else off
        layers[3 * index + _ROLE_A] = off if on_b else on

    def verdict(self, number: int, moment: datetime) -> Verdict:
        """What governs the flows of class `number` at `moment` (its entries moved to it):
        an override, else its layer of highest precedence."""
        pins = self._pins.get(number)
        if pins:
            for until, pinned in reversed(pins):
                if until > moment:
                    return pinned
        layers = self.layers
        best = _UNGOVERNED
        for item in self.layout.items[number]:
            layer = layers[item]
            if layer[0] > best[0]:
                best = layer
        return best

    def emit(self, number: int, before: Verdict, after: Verdict, rows: list[Row]) -> None:
        """Add to `rows` the flows of class `number` whose state changes from `before` to
        `after` (under `after = "restore"`, each flow's recorded prior state)."""
        members = self.layout.members[number]
        rule = after[2] if after[2] is not None else before[2]
        old, new = before[1], after[1]
        if old is not _PRIORS and new is not _PRIORS:
            if old != new:
                rows += [(rule, place, flow, old, new) for place, flow in members]  # type: ignore[misc]
            return
        for place, flow in members:
            old_state, new_state = self._restored(flow, before), self._restored(flow, after)
            if old_state != new_state:
                rows.append((rule, place, flow, old_state, new_state))  # type: ignore[arg-type]

    def _restored(self, flow: FlowKey, verdict: Verdict) -> Target:
        """A flow's state under `verdict`: its recorded prior state under a rule's
        `after = "restore"` (none for account:*), else the verdict's."""
        _, state, rule = verdict
        if state is not _PRIORS:
            return state  # type: ignore[return-value]
        if not isinstance(flow, FlowRef):
            return RESTORE
        return self._priors[rule].get(flow, RESTORE)  # type: ignore[index]


def _after_state(rule: MaintenanceRule, priors: PriorStates) -> Target:
    if rule.after != RESTORE:
        return State(rule.after)
    return None if priors.get(rule.name) else RESTORE


def _rank(index: int, rule: MaintenanceRule, disabled: bool) -> tuple[int, bool, int]:
    """Precedence among maintenance layers of one kind: priority, then disabled, then the
    first in the file."""
    return rule.priority, disabled, -index


def _after_rank(entry: _Entry) -> tuple[int, bool, int]:
    rule: MaintenanceRule = entry.rule  # type: ignore[assignment]
    return _rank(entry.index, rule, rule.after == "disabled")


def _window_rank(entry: _Entry) -> tuple[int, bool, int]:
    rule: MaintenanceRule = entry.rule  # type: ignore[assignment]
    return _rank(entry.index, rule, rule.state is State.DISABLED)


def _switch_states(
    entry: _Entry, on_b: bool, flows: Iterable[FlowKey]
) -> dict[FlowKey, DesiredState]:
    rule = entry.rule
    reason = f"A/B switch {rule.name!r}: group {'b' if on_b else 'a'} on"
    on = DesiredState(State.ENABLED, rule.name, rule.enforce, reason)
    off = DesiredState(State.DISABLED, rule.name, rule.enforce, reason)
    return {flow: on if (flow in entry.group_b) == on_b else off for flow in flows}


class _Restored(dict[State, DesiredState]):
    """The `after = "restore"` state of one rule for each recorded state, made once."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__()
        self.rule, self.reason = rule, reason

    def __missing__(self, state: State) -> DesiredState:
        made = self[state] = DesiredState(state, self.rule, False, self.reason)
        return made


def _phase_states(
    entry: _Entry, phase: str, flows: Collection[FlowKey]
) -> dict[FlowKey, DesiredState]:
    """States of a phase that depends only on the rule: a switch's "a" or "b", a
    maintenance rule's "window", or its "after" when that is not "restore"."""
    rule = entry.rule
    if isinstance(rule, AbSwitchRule):
        return _switch_states(entry, phase == "b", flows)
    if phase == "window":
        reason = f"maintenance window {rule.name!r}"
        return dict.fromkeys(flows, DesiredState(rule.state, rule.name, rule.enforce, reason))
    return _after_states(rule, flows, {})


def _after_states(
    rule: MaintenanceRule,
    flows: Collection[FlowKey],
    priors: Mapping[FlowRef, State],
) -> dict[FlowKey, DesiredState]:
    """A rule's `after` states; `restore` without a recorded state leaves the flow alone."""
    reason = f"after maintenance window {rule.name!r}: {rule.after}"
    if rule.after != RESTORE:
        return dict.fromkeys(flows, DesiredState(State(rule.after), rule.name, False, reason))
    # one DesiredState per recorded state, not one per flow
    restored = _Restored(rule.name, reason)
    if len(priors) <= len(flows):
        return {flow: restored[state] for flow, state in priors.items() if flow in flows}
    states: dict[FlowKey, DesiredState] = {}
    for flow in flows:
        state = priors.get(flow) if isinstance(flow, FlowRef) else None
        if state is not None:
            states[flow] = restored[state]
    return states


# -- module-level API -----------------------------------------------------------------


def desired(
    config: Config,
    now: datetime,
    prior_states: PriorStates | None = None,
    overrides: Iterable[Override] = (),
    known_flows: Mapping[str, Collection[str]] | None = None,
) -> dict[FlowKey, DesiredState]:
    """Every governed flow's desired state at `now` (see the module docstring)."""
    return Schedule(config, known_flows).desired(now, prior_states, overrides)


def transitions(
    config: Config,
    start: datetime,
    end: datetime,
    prior_states: PriorStates | None = None,
    overrides: Iterable[Override] = (),
    known_flows: Mapping[str, Collection[str]] | None = None,
) -> list[Transition]:
    """Every change of a desired state in [start, end), sorted by time."""
    return Schedule(config, known_flows).transitions(start, end, prior_states, overrides)


def next_transition(
    config: Config,
    after: datetime,
    prior_states: PriorStates | None = None,
    overrides: Iterable[Override] = (),
    known_flows: Mapping[str, Collection[str]] | None = None,
) -> Transition | None:
    """The first transition strictly after `after`."""
    return Schedule(config, known_flows).next_transition(after, prior_states, overrides)


# -- static conflicts ------------------------------------------------------------------


class _Governed:
    """Flow keys seen so far, each with a tag, answering "which of them overlap this key?"
    without comparing every pair: `account:*` overlaps every key of its account."""

    def __init__(self) -> None:
        self._exact: dict[FlowRef, list[int]] = {}
        self._wildcards: dict[str, list[int]] = {}
        self._by_account: dict[str, list[int]] = {}

    def add(self, key: FlowKey, tag: int) -> None:
        if isinstance(key, AccountWildcard):
            self._wildcards.setdefault(key.account, []).append(tag)
        else:
            self._exact.setdefault(key, []).append(tag)
        self._by_account.setdefault(key.account, []).append(tag)

    def overlapping(self, key: FlowKey) -> list[int]:
        """Tags of the keys added so far that name a flow `key` names too, in order added."""
        if isinstance(key, AccountWildcard):
            return self._by_account.get(key.account, [])
        return sorted(self._exact.get(key, []) + self._wildcards.get(key.account, []))


def _refs(config: Config, kind: str, index: int, group: str) -> list[tuple[Path, FlowKey]]:
    refs = getattr(getattr(config, kind)[index], group)
    return [
        ((kind, index, group, position), config.resolve(ref)) for position, ref in enumerate(refs)
    ]


PERIOD_SAMPLES = 60  # firing days looked at to find the shortest gap between two of them
_MINUTE = timedelta(minutes=1)


def _gap_shorter_than(expression: str, reference: datetime, length: timedelta) -> timedelta | None:
    """The shortest time between two consecutive starts of a cron, if `length` exceeds it.

    A day's start times come from the cron's fields, so only the gap across nights needs the
    days it fires on — sampled (the first PERIOD_SAMPLES after `reference`), and only when
    a window of `length` could outlast a night: few rules need it, none cost more."""
    cron = _cron(expression)
    times = cron.times_of_day()
    span = times[-1] - times[0]
    within = min((b - a for a, b in itertools.pairwise(times)), default=None)
    across = MINUTES_PER_DAY - span  # from a day's last start to the next day's first
    if length <= min(within or across, across) * _MINUTE:
        return None
    day_gap = cron.shortest_day_gap(reference, PERIOD_SAMPLES)
    candidates = [within, day_gap and day_gap * MINUTES_PER_DAY - span]
    found = [gap for gap in candidates if gap is not None]
    period = min(found) * _MINUTE if found else None
    return period if period is not None and length > period else None


def conflicts(config: Config, reference: datetime | None = None) -> list[ConfigProblem]:
    """Problems no single key shows: a flow in both groups of a switch, two switches
    governing one flow, a window longer than its period. (Unknown accounts and aliases are
    already refused by `parse_config`.) `reference` anchors the sampling of firing days.
    Linear in the rules and their flows (plus one problem per conflicting pair)."""
    reference = reference or datetime(2026, 1, 1)
    problems = []
    for index, switch in enumerate(config.ab_switch):
        group_a = _Governed()
        for _, key in _refs(config, "ab_switch", index, "a"):
            group_a.add(key, 0)
        for path, key in _refs(config, "ab_switch", index, "b"):
            if group_a.overlapping(key):
                problems.append(
                    config.problem(
                        path,
                        f"{key} is in both groups of switch {switch.name!r}",
                        "a flow belongs to group a or group b, not both",
                    )
                )
    switch_refs = [
        (index, path, key)
        for index in range(len(config.ab_switch))
        for group in ("a", "b")
        for path, key in _refs(config, "ab_switch", index, group)
    ]
    seen = _Governed()
    pairs = []
    for later, (second, _, key) in enumerate(switch_refs):
        pairs += [
            (earlier, later)
            for earlier in seen.overlapping(key)
            if switch_refs[earlier][0] != second
        ]
        seen.add(key, later)
    for earlier, later in sorted(pairs):
        first, (second, path, other) = switch_refs[earlier][0], switch_refs[later]
        problems.append(
            config.problem(
                path,
                f"{other} is governed by two switches: {config.ab_switch[first].name!r}"
                f" and {config.ab_switch[second].name!r}",
                "let one A/B switch govern each flow",
            )
        )
    gaps: dict[tuple[str, timedelta], timedelta | None] = {}
    for kind, key_cron, key_length in (
        ("maintenance", "cron", "duration"),
        ("ab_switch", "b_cron", "b_duration"),
    ):
        for index, rule in enumerate(getattr(config, kind)):
            expression, length = getattr(rule, key_cron), getattr(rule, key_length)
            if expression is None or length is None:
                continue
            if (expression, length) not in gaps:
                gaps[expression, length] = _gap_shorter_than(expression, reference, length)
            period = gaps[expression, length]
            if period is not None:
                problems.append(
                    config.problem(
                        (kind, index, key_length),
                        f"rule {rule.name!r}: {key_length} {format_duration(length)} is longer"
                        f" than the time between its starts ({format_duration(period)})",
                        "shorten the window or make the cron fire less often",
                    )
                )
    return problems
