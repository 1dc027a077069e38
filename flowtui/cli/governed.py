"""A hand change to a flow that a rule governs: offer an override so that the scheduler does
not silently undo it (SPEC §2, "Overrides")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import click

from flowtui.changes import hand_change_fate
from flowtui.config import Config, MaintenanceRule
from flowtui.engine.reconcile import overrides_from
from flowtui.model import FlowRef, State
from flowtui.rules import RESTORE, DesiredState, Override, PriorStates, Schedule, Target, Transition
from flowtui.store import AuditRecord, OverrideRecord, Store

HORIZONS = tuple(timedelta(days=days) for days in (1, 8, 32, 367, 2923))


@dataclass(frozen=True)
class RuleConflict:
    """`flow` was set to `state` by hand, but `want` says otherwise until `until`."""

    flow: FlowRef
    state: State
    want: DesiredState
    until: datetime | None  # the rule's next change for this flow (None: none in 8 years)
    then: Target = None  # the flow's desired state from `until` on (None: not governed)

    def fate(self) -> str:
        """What the scheduler will do with the hand change, in words."""
        until = None if self.until is None else f"{self.until:%Y-%m-%d %H:%M} UTC"
        want = self.want
        return hand_change_fate(want.rule, want.state, want.enforced, until, self.then)

    def hint(self) -> str:
        text = f"{self.flow}: {self.fate()}"
        if self.until is None:
            return text
        return (
            f"{text} — to keep it {self.state} until then: flowtui override {self.flow} "
            f"--state {self.state} --until {self.until.isoformat()}"
        )


def conflicts(
    config: Config, store: Store, changed: Mapping[FlowRef, State], now: datetime
) -> list[RuleConflict]:
    """Hand-changed flows whose governing rule (not an override) wants another state."""
    known: dict[str, list[str]] = {}
    for ref in changed:
        known.setdefault(ref.account, []).append(ref.flow_id)
    priors = {
        rule.name: store.prior_states(rule.name)
        for rule in config.maintenance
        if isinstance(rule, MaintenanceRule) and rule.after == RESTORE
    }
    overrides = overrides_from(store, now)
    schedule = Schedule(config, known)
    desired = schedule.desired(now, priors, overrides)
    found = []
    for ref, state in changed.items():
        want = desired.get(ref)
        if want is None or want.rule == "override" or want.state in (None, state):
            continue
        coming = _next_change(schedule, ref, now, priors, overrides)
        if coming is None:
            found.append(RuleConflict(ref, state, want, None))
        else:
            found.append(RuleConflict(ref, state, want, coming.at, coming.to_state))
    return found


def _next_change(
    schedule: Schedule,
    ref: FlowRef,
    now: datetime,
    priors: PriorStates,
    overrides: list[Override],
) -> Transition | None:
    begin = now
    for horizon in HORIZONS:
        changes = schedule.transitions(begin, begin + horizon, priors, overrides)
        coming = [t for t in changes if t.flow == ref]
        if coming:
            return min(coming)
        begin += horizon
    return None


def offer_overrides(
    found: Iterable[RuleConflict], store: Store, *, ask: bool, changed_by: str, now: datetime
) -> None:
    """Ask (on a terminal) to pin each flow until the rule's next change; else print a hint."""
    for conflict in found:
        if not ask or conflict.until is None:
            click.echo(f"flowtui: note: {conflict.hint()}", err=True)
            continue
        question = (
            f"{conflict.flow}: {conflict.fate()}. Keep it {conflict.state} until "
            f"{conflict.until:%Y-%m-%d %H:%M} UTC, whatever the rule says, with an override?"
        )
        if not click.confirm(question, default=True, err=True):
            continue
        store.set_override(
            OverrideRecord(conflict.flow, conflict.state, conflict.until, changed_by, now)
        )
        reason = f"override {conflict.state} until {conflict.until.isoformat()} (manual change)"
        store.record_event(
            AuditRecord(
                "override",
                conflict.flow,
                changed_by,
                now,
                new_status=conflict.state,
                reason=reason,
            )
        )
        until = f"{conflict.until:%Y-%m-%d %H:%M:%S}"
        click.echo(f"{conflict.flow}  pinned {conflict.state} until {until} UTC", err=True)
