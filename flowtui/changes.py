"""The audited-change pipeline: every change to a flow, by the CLI, the app or the scheduler.

The steps: read the flows (`read_flows`), plan what an action asks of each (`plan_action`),
then `apply_changes`: an intent row for every change before anything is sent, converge
(flowtui.providers.bulk: read → compare → change only if different → verify), an outcome
row for each flow as soon as it is done. `publish_audited` and `create_audited` do the same
for the platforms' publish and create steps — `create` writes its intent before the flow
exists. The CLI adds confirmation, dry runs and progress around them; the app adds modals
and pending rows; the scheduler adds rules and events. Nothing here prints or imports a UI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flowtui.model import FlowRef, State
from flowtui.providers.base import SETTABLE, ChangeResult, Flow, Provider, ProviderError
from flowtui.providers.bulk import converge_many
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.store import AuditRecord, IntentOutcome, Store, StoreError

log = logging.getLogger(LOGGER_NAME)

MANUAL = "manual"
NEW_FLOW = "(new)"  # the flow id of a create's intent: the platform has not named it yet

Clock = Callable[[], datetime]  # an aware "now"


@dataclass(frozen=True)
class Change:
    """One change to audit and converge: `ref` from `before` to `target`, by whom and why."""

    ref: FlowRef
    target: State
    before: State | None
    changed_by: str
    reason: str = MANUAL


OnIntent = Callable[[Change, datetime], None]
OnOutcome = Callable[[Change, ChangeResult, datetime], None]


@dataclass(frozen=True)
class ActionPlan:
    """What a manual action (enable, disable, toggle) asks of each flow, from one read."""

    action: str
    wanted: dict[FlowRef, State] = field(default_factory=dict)  # readable flows → desired
    before: dict[FlowRef, State] = field(default_factory=dict)  # their state as read
    failed: dict[FlowRef, ChangeResult] = field(default_factory=dict)  # unreadable or refused

    @property
    def to_change(self) -> dict[FlowRef, State]:
        """The flows whose read state differs from what the action asks."""
        return {ref: state for ref, state in self.wanted.items() if self.before[ref] != state}

    def already(self, ref: FlowRef) -> ChangeResult:
        state = self.before[ref]
        return ChangeResult.verified(ref, state, state, state)


def hand_change_fate(
    rule: str, wants: object, enforced: bool, until: str | None, then: object = None
) -> str:
    """What the scheduler does with a hand change to a flow that `rule` governs (SPEC §3):
    an enforcing rule sets it back at once; any other keeps it until the flow's next
    transition (`until`, already written for the reader), when the state `then` applies —
    "restore": the state recorded when the window began; None: no rule governs it then."""
    from flowtui.rules import RESTORE  # here: a bulk change needs no rules engine otherwise

    if enforced:
        return f"rule {rule!r} enforces {wants}: the scheduler sets it back at once"
    keeps = f"rule {rule!r} wants {wants} but does not enforce it: the scheduler"
    if until is None:
        return f"{keeps} leaves the change alone (no transition ahead)"
    at = (
        "stops governing it"
        if then is None
        else "puts back the state recorded when the window began"
        if then == RESTORE
        else f"sets it {then}"
    )
    return f"{keeps} keeps the change until the next transition, {until}, when it {at}"


def desired_state(action: str, current: Flow) -> State | ProviderError:
    """The state `action` (enable, disable, toggle) asks of a flow read as `current`."""
    if action == "enable":
        return State.ENABLED
    if action == "disable":
        return State.DISABLED
    if current.state not in SETTABLE:
        return ProviderError(f"cannot toggle a flow whose state is {current.state}")
    return State.DISABLED if current.state is State.ENABLED else State.ENABLED


async def read_flows(
    providers: Mapping[str, Provider], refs: Sequence[FlowRef]
) -> dict[FlowRef, Flow | ProviderError]:
    """Current state of `refs`, batched per account."""
    by_account: dict[str, list[str]] = {}
    for ref in refs:
        by_account.setdefault(ref.account, []).append(ref.flow_id)
    answers = await asyncio.gather(
        *(providers[account].get_flows(ids) for account, ids in by_account.items())
    )
    found: dict[FlowRef, Flow | ProviderError] = {}
    for account, answer in zip(by_account, answers, strict=True):
        found.update((FlowRef(account, flow_id), flow) for flow_id, flow in answer.items())
    return found


async def plan_action(
    providers: Mapping[str, Provider],
    action: str,
    refs: Sequence[FlowRef],
    unusable: Mapping[str, ProviderError] | None = None,
) -> ActionPlan:
    """Read `refs` and work out what `action` asks of each; a flow whose account has no
    provider fails with that account's error from `unusable`."""
    usable = [ref for ref in refs if ref.account in providers]
    current = await read_flows(providers, usable)
    plan = ActionPlan(action)
    for ref in refs:
        found = current.get(ref)
        if found is None:
            why = (unusable or {}).get(ref.account) or ProviderError(f"no account {ref.account}")
            plan.failed[ref] = ChangeResult.failed(ref, State.UNKNOWN, why, State.UNKNOWN)
        elif isinstance(found, ProviderError):  # already retried: report, do not change
            plan.failed[ref] = ChangeResult.failed(ref, State.UNKNOWN, found, State.UNKNOWN)
        else:
            wanted = desired_state(action, found)
            if isinstance(wanted, ProviderError):
                plan.failed[ref] = ChangeResult.failed(ref, found.state, wanted, found.state)
            else:
                plan.wanted[ref] = wanted
                plan.before[ref] = found.state
    return plan


async def apply_changes(
    store: Store,
    providers: Mapping[str, Provider],
    changes: Sequence[Change],
    *,
    clock: Clock,
    on_intent: OnIntent | None = None,
    on_outcome: OnOutcome | None = None,
    known: Mapping[FlowRef, Flow] | None = None,
) -> list[ChangeResult]:
    """Intent rows for all `changes` (StoreError propagates: nothing is sent without its
    intent on disk), converge, then outcome rows for each account's flows as soon as that
    account is done (one write each, not one per flow). An outcome that cannot be written
    is logged; its open intent is re-verified at the scheduler's next start. `known`: flows
    just read, not read again before changing (flowtui.providers.bulk). Results come in
    `changes`' order."""
    at = clock()
    by_ref = {change.ref: change for change in changes}
    ids = store.record_events(
        [
            AuditRecord(
                "intent",
                change.ref,
                change.changed_by,
                at,
                old_status=None if change.before is None else str(change.before),
                new_status=str(change.target),
                reason=change.reason,
            )
            for change in changes
        ]
    )
    intents = {change.ref: intent for change, intent in zip(changes, ids, strict=True)}
    if on_intent is not None:
        for change in changes:
            on_intent(change, at)

    def outcomes(results: list[ChangeResult]) -> None:
        done = clock()
        try:
            store.record_outcomes(
                [
                    IntentOutcome(
                        intents[result.ref],
                        new_status=str(result.state),
                        result=result.outcome.value,
                        at=done,
                        error=None if result.error is None else str(result.error),
                    )
                    for result in results
                ]
            )
        except StoreError as exc:
            flows = ", ".join(str(result.ref) for result in results[:3])
            more = f" and {len(results) - 3} more" if len(results) > 3 else ""
            log.warning(
                "outcome of %s%s not recorded (re-verified at next start): %s", flows, more, exc
            )
        if on_outcome is not None:
            for result in results:
                on_outcome(by_ref[result.ref], result, done)

    return await converge_many(
        providers,
        {change.ref: change.target for change in changes},
        on_results=outcomes,
        known=known,
    )


async def converge_audited(
    store: Store,
    providers: Mapping[str, Provider],
    plan: Mapping[FlowRef, State],
    before: Mapping[FlowRef, State | None],
    *,
    changed_by: str,
    clock: Clock,
    reason: str = MANUAL,
    on_result: Callable[[ChangeResult], None] | None = None,
    known: Mapping[FlowRef, Flow] | None = None,
) -> list[ChangeResult]:
    """`apply_changes` for one person's changes: every flow of `plan`, one author, one reason."""
    changes = [
        Change(ref, wanted, before.get(ref), changed_by, reason) for ref, wanted in plan.items()
    ]
    notify = None if on_result is None else (lambda _change, result, _at: on_result(result))
    return await apply_changes(
        store, providers, changes, clock=clock, on_outcome=notify, known=known
    )


async def publish_audited(
    store: Store,
    providers: Mapping[str, Provider],
    refs: Sequence[FlowRef],
    *,
    changed_by: str,
    clock: Clock,
) -> dict[FlowRef, Flow | ProviderError]:
    """Publish each flow (where its platform can), with intent and outcome rows."""
    at = clock()
    intents = {
        ref: store.record_intent(
            ref,
            old_status=None,
            new_status="published",
            changed_by=changed_by,
            reason=MANUAL,
            at=at,
        )
        for ref in refs
    }

    async def one(ref: FlowRef) -> Flow | ProviderError:
        try:
            flow = await providers[ref.account].publish(ref.flow_id)
        except ProviderError as exc:
            store.record_outcome(
                intents[ref],
                new_status=str(State.UNKNOWN),
                result="failed",
                at=clock(),
                error=str(exc),
            )
            return exc
        store.record_outcome(
            intents[ref], new_status=str(flow.state), result="published", at=clock()
        )
        return flow

    return dict(zip(refs, await asyncio.gather(*(one(ref) for ref in refs)), strict=True))


async def create_audited(
    store: Store, provider: Provider, name: str, *, changed_by: str, clock: Clock
) -> Flow:
    """Create a flow named `name`: the intent is written before the platform is asked (under
    the placeholder id NEW_FLOW), the outcome after, naming the new flow."""
    account = provider.account
    reason = f"{MANUAL}: create {name!r}"
    intent = store.record_intent(
        FlowRef(account, NEW_FLOW),
        old_status=None,
        new_status="created",
        changed_by=changed_by,
        reason=reason,
        at=clock(),
    )
    try:
        flow = await provider.create_flow(name)
    except ProviderError as exc:
        store.record_outcome(intent, new_status=None, result="failed", at=clock(), error=str(exc))
        raise
    store.record_event(
        AuditRecord(
            event_type="outcome",
            flow=flow.ref,
            changed_by=changed_by,
            timestamp=clock(),
            new_status=str(flow.state),
            result="created",
            reason=reason,
            intent_id=intent,
        )
    )
    return flow
