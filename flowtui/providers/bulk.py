"""Change many flows across accounts: one outcome per flow, one bad account stops nothing.

Accounts run concurrently; within an account the provider's transport bounds concurrency
and rate. Flows that failed transiently get one more converge pass after the first.
Flows the caller has just read (`known`, e.g. from the listing that expanded `account:*`)
are compared in the first pass without reading them again: a Bitrix24 account at 2 req/s
spends its burst on toggles and verifying reads, not on a second read of every flow.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping

from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    ChangeResult,
    Flow,
    NotFound,
    PlatformError,
    Provider,
    ProviderError,
    Superseded,
    Transient,
)
from flowtui.providers.redaction import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

OnResults = Callable[[list[ChangeResult]], None]

# A pass that ended in transient failures (5xx or 429 that outlasted the transport's
# retries) is followed by another after a pause that grows with each pass, so a platform
# that is briefly overloaded or rate limited gets time to recover.
PASSES = 3
PASS_PAUSE_S = 0.5


async def converge_many(
    providers: Mapping[str, Provider],
    desired: Mapping[FlowRef, State],
    *,
    passes: int = PASSES,
    on_results: OnResults | None = None,
    known: Mapping[FlowRef, Flow] | None = None,
) -> list[ChangeResult]:
    """Converge every flow in `desired`; results come back in `desired`'s order.

    `on_results` is called once per account, as soon as it is done, with the final results
    of its flows (written to the audit log together, shown by progress displays).
    """
    by_account: dict[str, dict[str, State]] = defaultdict(dict)
    recent: dict[str, dict[str, Flow]] = defaultdict(dict)
    for ref, state in desired.items():
        by_account[ref.account][ref.flow_id] = state
        if known and ref in known:
            recent[ref.account][ref.flow_id] = known[ref]
    done = await asyncio.gather(
        *(
            _converge_account(
                providers.get(account), account, changes, passes, on_results, recent[account]
            )
            for account, changes in by_account.items()
        )
    )
    final = {result.ref: result for results in done for result in results}
    return [final[ref] for ref in desired]


async def _converge_account(
    provider: Provider | None,
    account: str,
    changes: dict[str, State],
    passes: int,
    on_results: OnResults | None,
    known: Mapping[str, Flow],
) -> list[ChangeResult]:
    if provider is None:
        error: ProviderError = NotFound(f"no account named {account!r}")
        results = [_failed(account, i, s, error) for i, s in changes.items()]
    else:
        results = await _passes(provider, account, changes, passes, known)
    if on_results is not None:
        on_results(results)
    return results


async def _passes(
    provider: Provider,
    account: str,
    changes: dict[str, State],
    passes: int,
    known: Mapping[str, Flow],
) -> list[ChangeResult]:
    final: dict[str, ChangeResult] = {}
    todo = dict(changes)
    for attempt in range(passes):
        if attempt:
            await asyncio.sleep(PASS_PAUSE_S * attempt)
        try:
            # later passes read again: what failed may have changed meanwhile
            if known and not attempt:
                results = await provider.set_states(todo, known=known)
            else:
                results = await provider.set_states(todo)
        except ProviderError as exc:
            results = [_failed(account, i, s, exc) for i, s in todo.items()]
        except Exception as exc:  # one broken account must not stop the others
            log.exception("%s: unexpected error while converging", account)
            error = Transient(f"unexpected error: {type(exc).__name__}")
            results = [_failed(account, i, s, error) for i, s in todo.items()]
        # a result naming a flow not asked for (an answer about another id) is not one
        results = [r for r in results if r.ref.flow_id in todo]
        final.update((r.ref.flow_id, r) for r in results)
        todo = {
            r.ref.flow_id: r.desired
            for r in results
            if r.error is not None and not r.error.permanent and not isinstance(r.error, Superseded)
        }
        if not todo:
            break
    stray = PlatformError("the platform answered about another flow")
    return [final.get(i) or _failed(account, i, changes[i], stray) for i in changes]


def _failed(account: str, flow_id: str, state: State, error: ProviderError) -> ChangeResult:
    return ChangeResult.failed(FlowRef(account, flow_id), state, error, State.UNKNOWN)
