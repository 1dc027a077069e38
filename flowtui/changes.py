"""Manual changes to flows, audited the same way by the CLI and the app.

The steps: read the flows, plan the desired state of each (`desired_state`), write an
intent row per planned change, converge (flowtui.providers.bulk), write an outcome row per
flow. The CLI adds confirmation, dry runs and progress around them; the app adds modals and
pending rows. Nothing here prints or imports a UI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flowtui.model import FlowRef, State
from flowtui.providers.base import SETTABLE, ChangeResult, Flow, Provider, ProviderError
from flowtui.providers.bulk import OnResult, converge_many
from flowtui.store import Store

MANUAL = "manual"

Clock = Callable[[], datetime]  # an aware "now"


@dataclass(frozen=True)
class AuditedOutcome:
    """What to write as the outcome of one intent."""

    ref: FlowRef
    state: str | None
    result: str
    error: str | None = None


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


def record_intents(
    store: Store,
    plan: Mapping[FlowRef, tuple[State | str | None, State | str]],
    *,
    changed_by: str,
    at: datetime,
    reason: str = MANUAL,
) -> dict[FlowRef, int]:
    """One intent row per planned change (old → new); their ids by flow. StoreError
    propagates: no change may be sent without its intent on disk."""
    return {
        ref: store.record_intent(
            ref,
            old_status=None if old is None else str(old),
            new_status=str(new),
            changed_by=changed_by,
            reason=reason,
            at=at,
        )
        for ref, (old, new) in plan.items()
    }


def record_outcomes(
    store: Store, intents: Mapping[FlowRef, int], outcomes: Iterable[AuditedOutcome], at: datetime
) -> None:
    """The outcome row of each intent that has one in `outcomes`."""
    for outcome in outcomes:
        if outcome.ref in intents:
            store.record_outcome(
                intents[outcome.ref],
                new_status=outcome.state,
                result=outcome.result,
                at=at,
                error=outcome.error,
            )


def outcome_of(result: ChangeResult) -> AuditedOutcome:
    error = None if result.error is None else str(result.error)
    return AuditedOutcome(result.ref, str(result.state), result.outcome.value, error)


async def converge_audited(
    store: Store,
    providers: Mapping[str, Provider],
    plan: Mapping[FlowRef, State],
    before: Mapping[FlowRef, State | None],
    *,
    changed_by: str,
    clock: Clock,
    reason: str = MANUAL,
    on_result: OnResult | None = None,
) -> list[ChangeResult]:
    """Intent, converge, outcome for every flow of `plan`; results in `plan`'s order."""
    intents = record_intents(
        store,
        {ref: (before.get(ref), wanted) for ref, wanted in plan.items()},
        changed_by=changed_by,
        at=clock(),
        reason=reason,
    )
    results = await converge_many(providers, plan, on_result=on_result)
    record_outcomes(store, intents, map(outcome_of, results), clock())
    return results


async def publish_audited(
    store: Store,
    providers: Mapping[str, Provider],
    refs: Sequence[FlowRef],
    *,
    changed_by: str,
    clock: Clock,
) -> dict[FlowRef, Flow | ProviderError]:
    """Publish each flow (where its platform can), with intent and outcome rows."""
    intents = record_intents(
        store, {ref: (None, "published") for ref in refs}, changed_by=changed_by, at=clock()
    )

    async def one(ref: FlowRef) -> Flow | ProviderError:
        try:
            return await providers[ref.account].publish(ref.flow_id)
        except ProviderError as exc:
            return exc

    found = dict(zip(refs, await asyncio.gather(*(one(ref) for ref in refs)), strict=True))
    record_outcomes(
        store,
        intents,
        (
            AuditedOutcome(ref, str(State.UNKNOWN), "failed", str(answer))
            if isinstance(answer, ProviderError)
            else AuditedOutcome(ref, str(answer.state), "published")
            for ref, answer in found.items()
        ),
        clock(),
    )
    return found
