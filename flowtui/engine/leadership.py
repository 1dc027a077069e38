"""Team mode's leader election (SPEC §8): several `flowtui daemon` replicas with one
`settings.scheduler` name share one lease row; the one holding it acts, the others stand by.

`Leadership` is the component a scheduler gates its passes on:

    leadership = Leadership(LeaseStore(url, scheduler), lease=settings.lease)
    leadership.step()          # one round: take the lease if free, else renew ours
    leadership.is_leader       # act only while this is true
    leadership.fence           # give it to the store: intents are refused once deposed
    await leadership.run(stop, on_change, on_notify)  # step every lease/3 until `stop`

A leader renews every third of the lease. It counts its lease from *before* it sent the
renewal, on its own monotonic clock, and stops acting a safety margin before that count
runs out — so a leader that cannot renew (cut off, database down, frozen by SIGSTOP and
resumed late) has stopped before any standby can take over. A standby takes over only
once the row's expiry has passed on the database's clock, and takes a new epoch; every
intent a leader writes carries its epoch and is refused by the database when the epoch is
no longer current (flowtui.store.postgres), so a deposed leader records nothing and
therefore sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from flowtui.providers.redaction import LOGGER_NAME
from flowtui.store.records import Fence, StoreError

if TYPE_CHECKING:  # psycopg is imported only in team mode
    from flowtui.store.leases import Lease

log = logging.getLogger(LOGGER_NAME)

SAFETY = 0.2  # stop acting this fraction of the lease before our own count runs out
LISTEN_SLICE = 0.5  # seconds: longest wait for notifications before looking at `stop`


class Leases(Protocol):
    scheduler: str

    def try_acquire(self, holder: str, duration: timedelta) -> int | None: ...

    def renew(self, holder: str, epoch: int, duration: timedelta) -> bool: ...

    def release(self, holder: str, epoch: int) -> None: ...

    def current(self) -> Lease | None: ...

    def wait(self, timeout: float) -> list[str]: ...

    def close(self) -> None: ...


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """Holds or waits for one scheduler's lease. Not thread-safe: one caller steps it."""

    def __init__(
        self,
        leases: Leases,
        *,
        lease: timedelta = timedelta(seconds=15),
        holder: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leases = leases
        self.lease = lease
        self.holder = holder or default_holder()
        self._monotonic = monotonic
        self.epoch: int | None = None
        self._valid_until = 0.0  # our monotonic count of the lease, from before the request
        self.last_error: str | None = None

    @property
    def interval(self) -> float:
        """Seconds between two steps: a third of the lease."""
        return self.lease.total_seconds() / 3

    @property
    def is_leader(self) -> bool:
        """Holding the lease with more than the safety margin of it left, by our count."""
        margin = SAFETY * self.lease.total_seconds()
        return self.epoch is not None and self._monotonic() < self._valid_until - margin

    @property
    def fence(self) -> Fence | None:
        if self.epoch is None or not self.is_leader:
            return None
        return Fence(self.leases.scheduler, self.epoch)

    def step(self) -> bool:
        """One round: renew the lease we hold, or take it if it is free; `is_leader` after.
        A database error counts as a failed renewal (our own count keeps running out)."""
        started = self._monotonic()
        try:
            if self.epoch is not None and self._monotonic() < self._valid_until:
                if self.leases.renew(self.holder, self.epoch, self.lease):
                    self._valid_until = started + self.lease.total_seconds()
                else:
                    log.warning("lost the lease of scheduler %s", self.leases.scheduler)
                    self.epoch = None
            else:
                self.epoch = self.leases.try_acquire(self.holder, self.lease)
                if self.epoch is not None:
                    self._valid_until = started + self.lease.total_seconds()
            self.last_error = None
        except StoreError as exc:
            self.last_error = str(exc)
            log.warning("lease round failed: %s", exc)
        if self.epoch is not None and self._monotonic() >= self._valid_until:
            self.epoch = None  # our count ran out: whatever the row says now, it is not ours
        return self.is_leader

    def resign(self) -> None:
        """Give the lease up now (a clean stop), so a standby need not wait for expiry."""
        epoch, self.epoch = self.epoch, None
        if epoch is not None:
            try:
                self.leases.release(self.holder, epoch)
            except StoreError as exc:
                log.warning("could not release the lease: %s", exc)

    def status(self) -> str:
        """`leader (epoch N)` or `standby (leader host:pid, heartbeat 2 s ago)`."""
        if self.is_leader:
            return f"leader (epoch {self.epoch})"
        try:
            current = self.leases.current()
        except StoreError as exc:
            return f"standby (lease unreadable: {exc})"
        if current is None or current.expired:
            return "standby (no leader)"
        age = current.heartbeat_age.total_seconds()
        return f"standby (leader {current.holder}, heartbeat {age:.0f} s ago)"

    async def run(
        self,
        stop: asyncio.Event,
        on_change: Callable[[bool], Awaitable[None]] | None = None,
        on_notify: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        """Step every third of the lease until `stop`; call `on_change(leading)` whenever
        leadership is gained or lost — gained also when we lead under a new epoch, having
        lost the lease unseen during a stall — and `on_notify(channels)` for notifications
        on the lease's connection (LISTEN, see LeaseStore.listen) that arrive between steps.
        Both must return promptly (start long work as a task): no renewal is sent while
        they run. Resigns on the way out."""
        leading = self.epoch is not None  # as far as we know: a stall may have ended it
        term = self.epoch
        try:
            while not stop.is_set():
                now_leading = await asyncio.to_thread(self.step)
                # a new epoch is a new term even if we led before it: after a stall we may
                # have lost the lease and taken it again, another leader having acted between
                new_term = now_leading and self.epoch != term
                term = self.epoch
                if now_leading != leading or new_term:
                    leading = now_leading
                    if on_change is not None:
                        await on_change(leading)
                wait = self.interval
                if leading:  # wake in time to step down before our count runs out
                    margin = SAFETY * self.lease.total_seconds()
                    left = self._valid_until - margin - self._monotonic()
                    wait = min(wait, max(0.0, left))
                await self._listen(stop, self._monotonic() + wait, on_notify)
        finally:
            await asyncio.to_thread(self.resign)
            if leading and on_change is not None:
                await on_change(False)

    async def _listen(
        self,
        stop: asyncio.Event,
        until: float,
        on_notify: Callable[[list[str]], Awaitable[None]] | None,
    ) -> None:
        """Until `until` (monotonic) or `stop`: wait for notifications in short slices, so
        that a stop is noticed soon and the next step is never late."""
        while not stop.is_set() and (left := until - self._monotonic()) > 0:
            channels = await asyncio.to_thread(self._wait, min(left, LISTEN_SLICE))
            if channels and on_notify is not None:
                await on_notify(channels)

    def _wait(self, timeout: float) -> list[str]:
        try:
            return self.leases.wait(timeout)
        except StoreError as exc:  # the next step reports and reconnects; don't spin
            log.debug("listen failed: %s", exc)
            time.sleep(timeout)
            return []
