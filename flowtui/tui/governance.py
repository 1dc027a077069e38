"""Which rule governs each flow and what it does next, worked out once per change of what it
depends on (configuration, known flows, overrides) and again when the earliest coming
transition passes — not on every refresh: a week of transitions for 10,000 flows is far
too slow to recompute every few seconds while the user types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flowtui.model import FlowRef, State
from flowtui.rules import Override, Schedule, Target, Transition

HORIZON = timedelta(days=7)  # how far ahead "next change" looks
RECHECK = timedelta(hours=1)  # recompute at least this often (the horizon slides)

PriorStates = Mapping[str, Mapping[FlowRef, State]]


@dataclass(frozen=True)
class Governance:
    """Who governs a flow now and what it does next."""

    rule: str | None = None  # a rule name, "override", or None
    desired: Target = None
    next_change: Transition | None = None
    enforced: bool = False  # the rule sets a hand change back at once

    @property
    def rule_shown(self) -> str:
        """The rule governing now, or else the one behind the next change."""
        if self.rule:
            return self.rule
        return self.next_change.rule if self.next_change else ""


UNGOVERNED = Governance()


def work_out(
    schedule: Schedule, now: datetime, priors: PriorStates, overrides: list[Override]
) -> dict[FlowRef, Governance]:
    """Governing rule and next change (within HORIZON) of every governed flow."""
    desired = schedule.desired(now, priors, overrides)
    upcoming: dict[FlowRef, Transition] = {}
    for transition in schedule.transitions(now, now + HORIZON, priors, overrides):
        if isinstance(transition.flow, FlowRef):
            upcoming.setdefault(transition.flow, transition)
    found: dict[FlowRef, Governance] = {}
    for key, wanted in desired.items():
        if isinstance(key, FlowRef):
            found[key] = Governance(wanted.rule, wanted.state, upcoming.get(key), wanted.enforced)
    for ref, transition in upcoming.items():
        if ref not in found:
            found[ref] = Governance(None, None, transition)
    return found


class GovernanceCache:
    """The last answer of `work_out`, kept while its inputs hold and no transition passed.

    `key` is what the answer depends on besides time: the configuration (frozen, replaced
    whole when edited), the known flows and the overrides. Prior states are read only when
    recomputing: they change when a window opens, at a transition, which ends the answer's
    validity anyway."""

    def __init__(self) -> None:
        self._key: object = None
        self._until: datetime | None = None
        self._found: dict[FlowRef, Governance] = {}

    def invalidate(self) -> None:
        self._key = None

    def get(
        self,
        now: datetime,
        key: object,
        compute: Callable[[], dict[FlowRef, Governance]],
    ) -> dict[FlowRef, Governance]:
        if key != self._key or self._until is None or now >= self._until:
            self._found = compute()
            times = [g.next_change.at for g in self._found.values() if g.next_change]
            self._until = min([*times, now + RECHECK])
            self._key = key
        return self._found


def known_key(known: Mapping[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((account, tuple(ids)) for account, ids in sorted(known.items()))
