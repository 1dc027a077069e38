"""The app's backend: reads every account, says which rule governs each flow and when it
next changes, and makes audited changes. It imports no textual, so it can be tested and
timed on its own; the widgets only draw what it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowtui.changes import converge_audited, plan_action, publish_audited
from flowtui.config import Config
from flowtui.engine.reconcile import overrides_from
from flowtui.model import FlowRef, State
from flowtui.providers.base import ChangeResult, Flow, Provider, ProviderError, unknown_reason
from flowtui.providers.clients import AccountClients
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.providers.registry import Environment
from flowtui.rules import OVERRIDE, Schedule
from flowtui.store import (
    AuditRecord,
    OverrideRecord,
    Store,
    StoreError,
    StoreTarget,
    open_store,
    store_target,
)
from flowtui.tui.governance import (
    UNGOVERNED,
    Governance,
    GovernanceCache,
    known_key,
    work_out,
)

log = logging.getLogger(LOGGER_NAME)
ROWS_PER_STEP = 500  # rows built between two yields to the app's event loop
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FlowRow:
    """One row of the main table."""

    ref: FlowRef
    kind: str
    name: str
    state: State
    updated: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None  # the reason this row (or its account) could not be read
    governance: Governance = UNGOVERNED

    @property
    def key(self) -> str:
        return str(self.ref)


@dataclass(frozen=True)
class Snapshot:
    """One read of every account: its flows, and the error of each account that failed."""

    rows: dict[FlowRef, FlowRow]
    errors: dict[str, str]
    at: datetime


class Control:
    """Config, the process's account clients and the store for one app session;
    `aclose()` releases them (the embedded scheduler shares `clients`, never closes them).

    The store is the state directory's SQLite, or in team mode (SPEC §8) the shared
    PostgreSQL database. A database that cannot be used (down, wrong password, a newer
    schema) does not stop the app: `store` then raises StoreError with the reason at once,
    and the team link (flowtui.tui.team_link) opens it again when the database answers."""

    def __init__(
        self,
        config: Config,
        *,
        state_dir: Path,
        config_path: Path | None = None,
        env: Environment | None = None,
        clients: AccountClients | None = None,
        clock: Clock = utc_now,
        user: str | None = None,
        read_only: bool = False,
        target: StoreTarget | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.state_dir = state_dir
        self.clock = clock
        self.read_only = read_only or config.settings.read_only
        self.changed_by = f"tui:{user or getpass.getuser()}"  # in team mode also @host
        self.target = target or store_target(config.settings, state_dir)
        self.clients = clients or AccountClients(
            env
            or Environment(
                state_dir=state_dir,
                max_response=config.settings.max_response,
                state_url=self.target.url,
            )
        )
        self.clients.replace(config.accounts)
        self._store: Store | None = None
        self.store_problem: str | None = None  # why the shared database cannot be used now
        if self.target.team:
            # a failure is kept in store_problem: the status bar says it, the team link retries
            with contextlib.suppress(StoreError):
                self.reopen_store()
        else:
            self._store = open_store(self.target)
        self.known: dict[str, list[str]] = {}
        self.governance_cache = GovernanceCache()

    # -- the store ----------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The open store; StoreError at once (no wait) while the database is unusable."""
        if self._store is None:
            raise StoreError(f"state store unavailable: {self.store_problem or 'not open'}")
        return self._store

    @property
    def team(self) -> bool:
        return self.target.team

    def reopen_store(self) -> None:
        """(Re)open the shared database's store (blocking); StoreError, also kept in
        `store_problem`, when it cannot be used."""
        try:
            fresh = open_store(self.target)
        except StoreError as exc:
            self.store_problem = str(exc)
            raise
        old, self._store, self.store_problem = self._store, fresh, None
        if old is not None:
            old.close()

    def store_lost(self, problem: str) -> None:
        """The shared database stopped answering: refuse store use at once from now on, and
        drop the pool's connections (blocking), which the outage has broken."""
        self.store_problem = problem
        old, self._store = self._store, None
        if old is not None:
            old.close()

    @property
    def providers(self) -> dict[str, Provider]:
        return self.clients.providers

    @property
    def build_errors(self) -> dict[str, str]:
        return {name: str(error) for name, error in self.clients.errors.items()}

    def use_config(self, config: Config) -> list[Provider]:
        """A saved configuration from now on; returns the providers of its removed or
        changed accounts, for the caller to close (`close_all`) off this call."""
        self.config = config
        return self.clients.replace(config.accounts)

    def kind(self, account: str) -> str:
        return self.config.accounts[account].kind

    # -- reading ------------------------------------------------------------------------

    async def read_all(self) -> Snapshot:
        """List every account concurrently; one failing account stops nothing. Rules are
        worked out separately (`governance`), so that rows can show before them."""
        names = list(self.providers)
        answers = await asyncio.gather(
            *(self.providers[name].list_flows() for name in names), return_exceptions=True
        )
        rows: dict[FlowRef, FlowRow] = {}
        errors = dict(self.build_errors)
        for name, answer in zip(names, answers, strict=True):
            if isinstance(answer, ProviderError):
                errors[name] = str(answer)
            elif isinstance(answer, BaseException):
                errors[name] = f"unexpected error: {type(answer).__name__}"
                log.debug("%s: unexpected error while listing", name, exc_info=answer)
            else:
                self.known[name] = [flow.ref.flow_id for flow in answer]
                for start in range(0, len(answer), ROWS_PER_STEP):
                    rows.update((f.ref, self.row(f)) for f in answer[start : start + ROWS_PER_STEP])
                    await asyncio.sleep(0)  # the app's keys go between
        return Snapshot(rows, errors, self.clock())

    def row(self, flow: Flow) -> FlowRow:
        return FlowRow(
            flow.ref,
            self.kind(flow.ref.account),
            flow.name,
            flow.state,
            flow.updated,
            flow.raw,
            unknown_reason(flow),
        )

    async def read_one(self, ref: FlowRef) -> Flow:
        provider = self.providers.get(ref.account)
        if provider is None:
            raise ProviderError(self.build_errors.get(ref.account, f"no account {ref.account}"))
        return await provider.get_flow(ref.flow_id)

    # -- rules --------------------------------------------------------------------------

    def prior_states(self) -> dict[str, dict[FlowRef, State]]:
        return {
            rule.name: self.store.prior_states(rule.name)
            for rule in self.config.maintenance
            if rule.after == "restore"
        }

    def schedule(self) -> Schedule:
        return Schedule(self.config, self.known)

    def governance(self, now: datetime) -> dict[FlowRef, Governance]:
        """Governing rule and next change of every governed flow, recomputed only when the
        configuration, the known flows or the overrides changed, or a transition passed."""
        overrides = overrides_from(self.store, now)
        key = (self.config, known_key(self.known), tuple(overrides))
        return self.governance_cache.get(
            now, key, lambda: work_out(self.schedule(), now, self.prior_states(), overrides)
        )

    # -- changes ------------------------------------------------------------------------

    async def change(self, action: str, refs: Sequence[FlowRef]) -> list[ChangeResult]:
        """enable / disable / toggle `refs` with converge semantics, audited as `tui:<user>`."""
        plan = await plan_action(self.providers, action, refs, self.clients.errors)
        results = dict(plan.failed)
        results.update((ref, plan.already(ref)) for ref in plan.wanted)
        if plan.to_change:
            done = await converge_audited(
                self.store,
                self.providers,
                plan.to_change,
                plan.before,
                changed_by=self.changed_by,
                clock=self.clock,
            )
            results.update((result.ref, result) for result in done)
        return [results[ref] for ref in refs]

    async def publish(self, refs: Sequence[FlowRef]) -> dict[FlowRef, Flow | ProviderError]:
        """Publish flows whose platform has a publish step; the others fail with a reason."""
        able = [ref for ref in refs if getattr(self.providers.get(ref.account), "can_publish", 0)]
        found: dict[FlowRef, Flow | ProviderError] = {
            ref: ProviderError(f"{self.kind(ref.account)} has no publish step")
            for ref in refs
            if ref not in able
        }
        if able:
            found.update(
                await publish_audited(
                    self.store, self.providers, able, changed_by=self.changed_by, clock=self.clock
                )
            )
        return {ref: found[ref] for ref in refs}

    def set_override(self, refs: Iterable[FlowRef], state: str, until: datetime) -> None:
        """Pin `refs` at `state` (enabled, disabled or skip) until `until`."""
        now = self.clock()
        for ref in refs:
            self.store.set_override(OverrideRecord(ref, state, until, self.changed_by, now))

    def clear_override(self, refs: Iterable[FlowRef]) -> int:
        return sum(self.store.clear_override(ref) for ref in refs)

    def audit(self, *, flow: FlowRef | None = None, limit: int = 500) -> list[AuditRecord]:
        return self.store.audit(flow=flow, limit=limit)

    async def aclose(self) -> None:
        await self.clients.aclose()
        if self._store is not None:
            self._store.close()


def is_rule_governed(governance: Governance) -> bool:
    """Governed by a rule (not an override): a hand change should offer an override."""
    return governance.rule not in (None, OVERRIDE) and governance.desired is not None
