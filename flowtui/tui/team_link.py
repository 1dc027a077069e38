"""The app in team mode (SPEC §8): who leads the scheduler and how fresh its heartbeat is,
the shared database's health, and what other apps, the CLI and the leader write — live.

One dedicated connection (flowtui.store.leases.LeaseStore, read-only use) reads the lease
every second and LISTENs between two reads: an audit row written anywhere reaches the open
audit screen and the table at once, an override set anywhere re-works the governing rules.
When the database stops answering, the app says so, refuses store use at once instead of
waiting on it, and reopens the store when the database answers again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from flowtui.model import State
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.store import StoreError
from flowtui.store.leases import Lease, LeaseStore
from flowtui.store.postgres import AUDIT_CHANNEL, OVERRIDES_CHANNEL
from flowtui.tui.control import Control
from flowtui.tui.screens.audit import AuditScreen

if TYPE_CHECKING:
    from flowtui.tui.app import FlowtuiApp
    from flowtui.tui.scheduler_link import SchedulerLink

log = logging.getLogger(LOGGER_NAME)
Answer = TypeVar("Answer")

LOOK_EVERY_S = 1.0  # lease read (heartbeat age) and longest wait for a notification
RETRY_FIRST_S = 1.0  # while the database cannot be used: retry after this, doubling …
RETRY_MAX_S = 10.0  # … up to this (a wrong password is not tried many times a second)
STALL_S = 5.0  # a round unanswered this long: the database is frozen or cut off
CLOSE_WAIT_S = 2.0  # on closing, the longest wait for a lease call in flight to end
AUDIT_BATCH = 100  # newest rows read per notification; a fuller batch refreshes the table
SHOWN_STATES = frozenset(State) - {State.UNKNOWN, State.PENDING}


@dataclass(frozen=True)
class TeamStatus:
    """The status bar's team-mode part: `text`, and `level` ok | warning | error."""

    text: str
    level: str = "ok"


def team_status(lease: Lease | None, *, own: str | None, candidate: bool) -> TeamStatus:
    """`leader host:pid · heartbeat 2 s ago`, `no leader`, or this app's own part: it leads
    (`own` is its holder) or, as a candidate (`tui --scheduler`), stands by."""
    if lease is None or lease.expired:
        return TeamStatus("no leader" + (" · this app stands by" if candidate else ""), "warning")
    beat = f"heartbeat {lease.heartbeat_age.total_seconds():.0f} s ago"
    # a leader renews every third of its lease: two thirds without a renewal is a struggle
    level = (
        "warning" if 3 * lease.heartbeat_age > 2 * (lease.expires_at - lease.renewed_at) else "ok"
    )
    if own is not None and lease.holder == own:
        return TeamStatus(f"leader: this app ({lease.holder}) · {beat}", level)
    standby = "standby · " if candidate else ""
    return TeamStatus(f"{standby}leader {lease.holder} · {beat}", level)


def outage_status(problem: str) -> TeamStatus:
    return TeamStatus(f"database unusable, retrying: {problem}", "error")


class TeamLink:
    """Owns the app's lease-reading, LISTENing connection and the task that follows it."""

    def __init__(self, control: Control, scheduler: SchedulerLink | None = None) -> None:
        assert control.target.url is not None
        self.control = control
        self.scheduler = scheduler
        self.leases = LeaseStore(control.target.url, control.target.scheduler)
        self.status = (
            outage_status(control.store_problem)
            if control.store_problem
            else TeamStatus("reading the lease…", "warning")
        )
        self.last_audit_id: int | None = None
        self._closed = False
        self._using = threading.Lock()  # held by the thread using the lease connection
        self._retry_s = RETRY_FIRST_S
        self.stall_s = STALL_S

    def start(self, app: FlowtuiApp) -> None:
        app.run_worker(self._follow(app), group="team", exit_on_error=False)

    def close(self) -> None:
        """Blocking: the app is closing. The connection is closed once no thread uses it
        (a stuck one is left to the process's end rather than pulled from under it)."""
        self._closed = True
        if self._using.acquire(timeout=CLOSE_WAIT_S):
            try:
                self.leases.close()
            finally:
                self._using.release()

    def _on_lease_connection(self, call: Callable[[], Answer]) -> Answer:
        """Run `call` (in a worker thread) as the only user of the lease connection."""
        with self._using:
            if self._closed:
                raise StoreError("the app is closing")
            return call()

    @property
    def own_holder(self) -> str | None:
        """The embedded scheduler's lease holder (`host:pid`) when it takes part."""
        if self.scheduler is None or self.scheduler.scheduler.leadership is None:
            return None
        return self.scheduler.scheduler.leadership.holder

    async def _follow(self, app: FlowtuiApp) -> None:
        self.last_audit_id = await asyncio.to_thread(self._newest_audit_id)
        while not self._closed:
            channels = await self._watched(app)
            if AUDIT_CHANNEL in channels:
                await self.audit_written(app)
            if OVERRIDES_CHANNEL in channels:
                await self.overrides_changed(app)

    async def _watched(self, app: FlowtuiApp) -> list[str]:
        """One round; while it hangs (a frozen or cut-off database answers nothing and fails
        nothing for minutes), say so every `stall_s` and refuse store use meanwhile."""
        rounding = asyncio.ensure_future(self.round(app))
        waited = 0.0
        while not (await asyncio.wait({rounding}, timeout=self.stall_s))[0]:
            waited += self.stall_s
            where = self.control.target.describe()
            await self._lost(app, f"{where} has not answered for {waited:.0f} s")
        return rounding.result()

    async def round(self, app: FlowtuiApp) -> list[str]:
        """Read the lease (reopening the store after an outage), show it, and wait up to
        LOOK_EVERY_S for notifications; the channels notified."""
        try:
            lease = await asyncio.to_thread(self._on_lease_connection, self._look)
        except StoreError as exc:
            await self._lost(app, str(exc))
            await asyncio.sleep(self._retry_s)
            self._retry_s = min(2 * self._retry_s, RETRY_MAX_S)
            return []
        self._retry_s = RETRY_FIRST_S
        was_down = self.status.level == "error"
        candidate = self.scheduler is not None
        self._show(app, team_status(lease, own=self.own_holder, candidate=candidate))
        if was_down:  # what was written meanwhile: audit rows, overrides, states
            app.notify("the shared database answers again", title="state store")
            self.control.clients.retry_failed()  # accounts whose shared token was unreadable
            await self.audit_written(app)
            app.request_refresh()
        try:
            wait = partial(self.leases.wait, LOOK_EVERY_S)
            return await asyncio.to_thread(self._on_lease_connection, wait)
        except StoreError as exc:
            await self._lost(app, str(exc))
            return []

    def _look(self) -> Lease | None:
        """Blocking: the lease as it stands (on the LISTENing connection, reconnected if
        need be), then the store reopened if it was lost before or meanwhile."""
        self.leases.listen(AUDIT_CHANNEL, OVERRIDES_CHANNEL)
        lease = self.leases.current()
        if self.control.store_problem is not None:
            self.control.reopen_store()
        return lease

    async def _lost(self, app: FlowtuiApp, problem: str) -> None:
        if self._closed:
            return
        if self.status.level != "error":
            log.warning("shared database unusable: %s", problem)
            app.notify(problem, title="state store", severity="error")
        await asyncio.to_thread(self.control.store_lost, problem)
        self._show(app, outage_status(problem))

    def _show(self, app: FlowtuiApp, status: TeamStatus) -> None:
        if status != self.status:
            self.status = status
            app.show_team(status)

    def _newest_audit_id(self) -> int | None:
        with suppress(StoreError):  # the database is down: the first round says so
            newest = self.control.store.audit(limit=1)
            return newest[0].id if newest else 0
        return None

    async def audit_written(self, app: FlowtuiApp) -> None:
        """New audit rows (any process): the open audit screen shows them, and the table
        the state each finished change verified (a leader's change, another operator's)."""
        if isinstance(app.screen, AuditScreen):
            app.screen.poll()
        try:
            newest = await asyncio.to_thread(self.control.audit, limit=AUDIT_BATCH)
        except StoreError:
            return  # the next round reports the outage
        if self.last_audit_id is None:  # not known yet (the database was down at start)
            self.last_audit_id = newest[0].id if newest else 0
            return
        fresh = [record for record in newest if (record.id or 0) > self.last_audit_id]
        if not fresh:
            return
        self.last_audit_id = max(record.id or 0 for record in fresh)
        if len(fresh) == AUDIT_BATCH:  # perhaps more than one batch: read everything
            app.request_refresh()
            return
        for record in reversed(fresh):
            if record.event_type == "outcome" and record.new_status in SHOWN_STATES:
                app.show_state(record.flow, State(record.new_status), record.error)

    async def overrides_changed(self, app: FlowtuiApp) -> None:
        """An override was set or cleared somewhere: rules and next changes again."""
        now = app.now()
        try:
            governance = await asyncio.to_thread(self.control.governance, now)
        except StoreError:
            return  # the next round reports the outage
        await app.apply_governance(governance, now)
