"""What a change to schedules.toml does to the coming transitions (`flowtui plan
--against`). Pure: both configurations and the horizon are parameters.

Rules are compared by their effect, not their text: a rule rewritten from cron to the
weekly form that opens the same windows changes nothing. A transition is matched to the
nearest one of the same rule, flow and states on the other side, so a window moved by an
hour is "moved", not "removed" plus "added". Both sides expand `account:*` alike — to the
flows either file names plus `account:*` for the rest — so naming a flow in a new rule
does not make the account's other rules look new for it.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from flowtui.config import AbSwitchRule, AccountWildcard, Bitrix24Account, Config, Rule
from flowtui.durations import format_duration
from flowtui.model import FlowRef
from flowtui.rules import DesiredState, FlowKey, Schedule, Target, Transition, timeline_for

HORIZON_LIMIT = timedelta(days=366)
# Transitions are paired over a margin around the horizon, so a window moved across its
# edge shows as moved, not as removed (or added).
_PAIR_MARGIN = timedelta(days=1)


def _state(value: Target) -> str:
    return "untouched" if value is None else str(value)


@dataclass(frozen=True)
class Step:
    """One side of a transition: when, and from which state to which."""

    at: datetime
    from_state: Target
    to_state: Target

    def as_json(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "from": _state(self.from_state),
            "to": _state(self.to_state),
        }


@dataclass(frozen=True)
class TransitionChange:
    """A transition of one rule and flow that only the new file has (added), only the old
    (removed), both at different instants (moved), or both at one instant with other
    states (changed)."""

    flow: FlowKey
    rule: str
    old: Step | None
    new: Step | None

    @property
    def kind(self) -> Literal["added", "removed", "moved", "changed"]:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "moved" if self.old.at != self.new.at else "changed"

    @property
    def instants(self) -> list[datetime]:
        return [step.at for step in (self.old, self.new) if step is not None]

    @property
    def at(self) -> datetime:
        return min(self.instants)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "flow": str(self.flow),
            "rule": self.rule,
            "old": self.old.as_json() if self.old else None,
            "new": self.new.as_json() if self.new else None,
        }


@dataclass(frozen=True)
class GoverningChange:
    """A flow that no rule governed before and one does now (governed), or the reverse
    (released)."""

    flow: FlowKey
    rules: tuple[str, ...]  # the rules that govern it on the side where it is governed
    kind: Literal["governed", "released"]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "flow": str(self.flow), "rules": list(self.rules)}


@dataclass(frozen=True)
class StartChange:
    """The desired state at the start of the horizon differs: the daemon acts on it as
    soon as the new file is loaded."""

    flow: FlowKey
    old: DesiredState | None
    new: DesiredState | None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "at_start",
            "flow": str(self.flow),
            "old_state": _state(self.old.state if self.old else None),
            "new_state": _state(self.new.state if self.new else None),
            "old_rule": self.old.rule if self.old else None,
            "new_rule": self.new.rule if self.new else None,
        }


@dataclass(frozen=True)
class WinnerChange:
    """Over [start, end) the same maintenance windows are open on both sides, but another
    one wins (priority, the disabled tie-break or file order changed)."""

    flow: FlowKey
    start: datetime
    end: datetime
    old: DesiredState
    new: DesiredState

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "winner",
            "flow": str(self.flow),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "old_rule": self.old.rule,
            "new_rule": self.new.rule,
            "old_state": _state(self.old.state),
            "new_state": _state(self.new.state),
        }


@dataclass(frozen=True)
class PeriodChange:
    """An A/B switch in both files whose B windows over the horizon differ."""

    rule: str
    old: str
    new: str
    flows: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "period",
            "rule": self.rule,
            "old": self.old,
            "new": self.new,
            "flows": list(self.flows),
        }


FlowChange = TransitionChange | GoverningChange | StartChange | WinnerChange


@dataclass(frozen=True)
class PlanDiff:
    """Every change over [start, end); `changed` is whether there is any."""

    start: datetime
    end: datetime
    transitions: tuple[TransitionChange, ...]
    governing: tuple[GoverningChange, ...]
    at_start: tuple[StartChange, ...]
    winners: tuple[WinnerChange, ...]
    periods: tuple[PeriodChange, ...]

    @property
    def changed(self) -> bool:
        return any((self.transitions, self.governing, self.at_start, self.winners, self.periods))

    def flow_changes(self) -> list[FlowChange]:
        """Every per-flow change, by flow, then time (governing and start changes first)."""

        def order(change: FlowChange) -> tuple[str, datetime]:
            if isinstance(change, TransitionChange):
                return str(change.flow), change.at
            if isinstance(change, WinnerChange):
                return str(change.flow), change.start
            return str(change.flow), self.start

        changes: list[FlowChange] = [*self.governing, *self.at_start, *self.winners]
        return sorted([*changes, *self.transitions], key=order)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "until": self.end.isoformat(),
            "changed": self.changed,
            "changes": [change.as_json() for change in (*self.flow_changes(), *self.periods)],
        }


# -- the comparison --------------------------------------------------------------------


def diff_plans(old: Config, new: Config, start: datetime, end: datetime) -> PlanDiff:
    """What replacing `old` by `new` changes over [start, end) (UTC, end - start at most
    HORIZON_LIMIT)."""
    if not start < end <= start + HORIZON_LIMIT:
        raise ValueError("the horizon must be positive and at most a year")
    known = _shared_expansion(old, new)
    whole_old, whole_new = Schedule(old, known), Schedule(new, known)
    old_rules, new_rules = _rules_by_flow(whole_old), _rules_by_flow(whole_new)
    governing = [
        GoverningChange(flow, tuple(sorted(new_rules[flow])), "governed")
        for flow in new_rules.keys() - old_rules.keys()
    ] + [
        GoverningChange(flow, tuple(sorted(old_rules[flow])), "released")
        for flow in old_rules.keys() - new_rules.keys()
    ]
    old_cut, new_cut, cut_known = _cut_to_differences(old, whole_old, new, whole_new)
    before, after = Schedule(old_cut, cut_known), Schedule(new_cut, cut_known)
    was, now = before.desired(start), after.desired(start)
    at_start = [
        StartChange(flow, was.get(flow), now.get(flow))
        for flow in sorted(was.keys() | now.keys(), key=str)
        if _target(was.get(flow)) != _target(now.get(flow))
    ]
    wide = (start - _PAIR_MARGIN, end + _PAIR_MARGIN)
    transitions = [
        change
        for change in _pair(before.transitions(*wide), after.transitions(*wide))
        if any(start <= at < end for at in change.instants)
    ]
    return PlanDiff(
        start,
        end,
        tuple(transitions),
        tuple(sorted(governing, key=lambda change: str(change.flow))),
        tuple(at_start),
        tuple(_winner_changes(old_cut, new_cut, before, after, start, end)),
        tuple(_period_changes(old, new, start, end)),
    )


def _target(desired: DesiredState | None) -> Target:
    return desired.state if desired else None


def _named_refs(config: Config) -> Iterator[str]:
    yield from config.flows.values()
    for rule in config.maintenance:
        yield from rule.flows
    for switch in config.ab_switch:
        yield from (*switch.a, *switch.b)


def _shared_expansion(old: Config, new: Config) -> dict[str, list[str]]:
    """`known_flows` for both sides: per account (except Bitrix24, whose flows are
    configured), the flows either file names, plus `*` standing for the rest."""
    named: dict[str, set[str]] = {}
    bitrix: set[str] = set()
    for config in (old, new):
        for ref in _named_refs(config):
            key = config.resolve(ref)
            flows = named.setdefault(key.account, set())
            if isinstance(key, FlowRef):
                flows.add(key.flow_id)
        bitrix.update(
            name
            for name, account in config.accounts.items()
            if isinstance(account, Bitrix24Account)
        )
    return {
        account: [*sorted(flows), "*"] for account, flows in named.items() if account not in bitrix
    }


def _cut_to_differences(
    old: Config, old_schedule: Schedule, new: Config, new_schedule: Schedule
) -> tuple[Config, Config, dict[str, list[str]]]:
    """Both configurations cut down to the flows whose rules differ in any way
    (definition, zone, order) and their rules, with `known_flows` expanding `account:*`
    to those flows only. A flow's desired states depend only on the rules that govern it,
    so every other flow has the same transitions on both sides."""
    old_marks, new_marks = _marks(old, old_schedule), _marks(new, new_schedule)
    changed = {
        flow
        for flow in old_marks.keys() | new_marks.keys()
        if old_marks.get(flow) != new_marks.get(flow)
    }
    names = {
        rule.name
        for flow in changed
        for marks in (old_marks.get(flow, ()), new_marks.get(flow, ()))
        for rule, _ in marks
    }
    # An account whose wildcard stays `account:*` (a Bitrix24 account on one side only)
    # keeps its own expansion.
    kept = {flow.account for flow in changed if isinstance(flow, AccountWildcard)}
    known: dict[str, list[str]] = {
        account: [] for account in {*old.accounts, *new.accounts} if account not in kept
    }
    for flow in changed:
        if isinstance(flow, FlowRef) and flow.account in known:
            known[flow.account].append(flow.flow_id)
    return _only(old, names), _only(new, names), known


def _marks(config: Config, schedule: Schedule) -> dict[FlowKey, list[tuple[Rule, str]]]:
    """Per flow, the active rules governing it in file order, each with its zone."""
    governed = schedule.governed()
    marks: dict[FlowKey, list[tuple[Rule, str]]] = {}
    for rule in config.rules:
        mark = (rule, config.zone(rule).key)
        for flow in governed.get(rule.name, ()):
            marks.setdefault(flow, []).append(mark)
    return marks


def _only(config: Config, names: set[str]) -> Config:
    return config.model_copy(
        update={
            "maintenance": tuple(rule for rule in config.maintenance if rule.name in names),
            "ab_switch": tuple(rule for rule in config.ab_switch if rule.name in names),
        }
    )


def _rules_by_flow(schedule: Schedule) -> dict[FlowKey, set[str]]:
    by_flow: dict[FlowKey, set[str]] = {}
    for rule, flows in schedule.governed().items():
        for flow in flows:
            by_flow.setdefault(flow, set()).add(rule)
    return by_flow


# -- transitions: matched by rule, flow and states, nearest instant --------------------


def _pair(old: Iterable[Transition], new: Iterable[Transition]) -> list[TransitionChange]:
    """Changes between two lists of transitions: unchanged ones dropped, the rest paired
    by rule, flow and states (nearest instant), then what is left by rule, flow and
    instant (other states)."""
    groups: dict[tuple[Any, ...], tuple[list[datetime], list[datetime]]] = {}
    for side, transitions in enumerate((old, new)):
        for transition in transitions:
            key = (transition.flow, transition.rule, transition.from_state, transition.to_state)
            groups.setdefault(key, ([], []))[side].append(transition.at)
    paired: list[TransitionChange] = []
    alone: dict[tuple[FlowKey, str, datetime], list[TransitionChange]] = {}
    for (flow, rule, *states), (olds, news) in groups.items():
        same = Counter(olds) & Counter(news)
        olds = sorted((Counter(olds) - same).elements())
        news = sorted((Counter(news) - same).elements())
        for old_at, new_at in _nearest_pairs(olds, news):
            change = TransitionChange(
                flow,
                rule,
                Step(old_at, *states) if old_at else None,
                Step(new_at, *states) if new_at else None,
            )
            if old_at and new_at:
                paired.append(change)
            else:
                alone.setdefault((flow, rule, change.at), []).append(change)
    for (flow, rule, _), changes in alone.items():
        if len(changes) == 2 and {change.kind for change in changes} == {"added", "removed"}:
            removed, added = sorted(changes, key=lambda change: change.kind != "removed")
            paired.append(TransitionChange(flow, rule, removed.old, added.new))
        else:
            paired.extend(changes)
    return paired


def _nearest_pairs(
    olds: list[datetime], news: list[datetime]
) -> Iterator[tuple[datetime | None, datetime | None]]:
    """Pairs of mutually nearest instants, round after round (the closest remaining pair
    is always mutual, so every round pairs one at least); what is left stays unpaired."""
    while olds and news:
        pairs = [(old, new) for old in olds if _nearest(olds, new := _nearest(news, old)) == old]
        yield from pairs
        taken_old, taken_new = {old for old, _ in pairs}, {new for _, new in pairs}
        olds = [old for old in olds if old not in taken_old]
        news = [new for new in news if new not in taken_new]
    yield from ((old, None) for old in olds)
    yield from ((None, new) for new in news)


def _nearest(sorted_instants: list[datetime], moment: datetime) -> datetime:
    position = bisect.bisect_left(sorted_instants, moment)
    candidates = sorted_instants[max(position - 1, 0) : position + 1]
    return min(candidates, key=lambda candidate: (abs(candidate - moment), candidate))


# -- winners of overlapping maintenance windows ----------------------------------------


def _open_windows(
    config: Config, schedule: Schedule, start: datetime, end: datetime
) -> dict[FlowKey, list[tuple[str, datetime, datetime]]]:
    """Per flow, the windows of the active maintenance rules governing it over the range."""
    governed = schedule.governed()
    found: dict[FlowKey, list[tuple[str, datetime, datetime]]] = {}
    for rule in config.maintenance:
        if rule.name not in governed:
            continue
        windows = timeline_for(rule, config.zone(rule)).windows(start, end)
        for flow in governed[rule.name]:
            found.setdefault(flow, []).extend((rule.name, begin, close) for begin, close in windows)
    return found


def _open_sets(
    windows: Iterable[tuple[str, datetime, datetime]], edges: list[datetime]
) -> list[frozenset[str]]:
    """The rules with a window open at each of the sorted `edges` (a sweep)."""
    events = sorted(
        (moment, delta, rule)
        for rule, begin, close in windows
        for moment, delta in ((begin, 1), (close, -1))
    )
    open_count: Counter[str] = Counter()
    position, found = 0, []
    for edge in edges:
        while position < len(events) and events[position][0] <= edge:
            _, delta, rule = events[position]
            open_count[rule] += delta
            position += 1
        found.append(frozenset(rule for rule, count in open_count.items() if count > 0))
    return found


def _winner_changes(
    old: Config, new: Config, before: Schedule, after: Schedule, start: datetime, end: datetime
) -> Iterator[WinnerChange]:
    old_windows = _open_windows(old, before, start, end)
    new_windows = _open_windows(new, after, start, end)
    desired: dict[tuple[int, datetime], Mapping[FlowKey, DesiredState]] = {}

    def desired_at(side: int, moment: datetime) -> Mapping[FlowKey, DesiredState]:
        if (side, moment) not in desired:
            desired[side, moment] = (before, after)[side].desired(moment)
        return desired[side, moment]

    for flow in sorted(old_windows.keys() & new_windows.keys(), key=str):
        olds, news = old_windows[flow], new_windows[flow]
        if min(len({rule for rule, *_ in windows}) for windows in (olds, news)) < 2:
            continue  # no overlap possible on one side
        edges = sorted(
            {start, end}
            | {
                moment
                for _, begin, close in (*olds, *news)
                for moment in (begin, close)
                if start < moment < end
            }
        )
        run: WinnerChange | None = None
        segments = zip(
            itertools.pairwise(edges),
            _open_sets(olds, edges),
            _open_sets(news, edges),
            strict=False,
        )
        for (begin, close), contenders, new_contenders in segments:
            change = None
            if len(contenders) > 1 and contenders == new_contenders:
                was, now = desired_at(0, begin)[flow], desired_at(1, begin)[flow]
                if was.rule != now.rule:
                    change = WinnerChange(flow, begin, close, was, now)
            if run and change and (run.old, run.new, run.end) == (change.old, change.new, begin):
                run = WinnerChange(flow, run.start, close, run.old, run.new)
                continue
            if run:
                yield run
            run = change
        if run:
            yield run


# -- A/B switch periods ----------------------------------------------------------------


def _period(config: Config, rule: AbSwitchRule) -> str:
    zone = rule.timezone or config.settings.timezone
    if rule.b_cron and rule.b_duration:
        return f"B at {rule.b_cron} for {format_duration(rule.b_duration)} ({zone})"
    start = rule.start.isoformat() if rule.start else "?"
    every = format_duration(rule.every) if rule.every else "?"
    return f"A, B, … {every} each from {start} ({zone})"


def _period_changes(
    old: Config, new: Config, start: datetime, end: datetime
) -> Iterator[PeriodChange]:
    olds = {rule.name: rule for rule in old.ab_switch if not rule.paused}
    for rule in new.ab_switch:
        previous = olds.get(rule.name)
        if (
            previous is None
            or rule.paused
            or (previous, old.zone(previous)) == (rule, new.zone(rule))
        ):
            continue
        was = timeline_for(previous, old.zone(previous)).windows(start, end)
        now = timeline_for(rule, new.zone(rule)).windows(start, end)
        if was != now:
            flows = tuple(dict.fromkeys((*rule.a, *rule.b)))
            yield PeriodChange(rule.name, _period(old, previous), _period(new, rule), flows)
