"""Leadership against a real PostgreSQL server (SPEC §8): one leader per scheduler name,
takeover once the lease expires, fencing of a deposed leader's intents, and a leader that
cannot renew stops acting before its lease ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from polling import wait_for

from flowtui.engine.leadership import SAFETY, Leadership
from flowtui.model import FlowRef
from flowtui.store import Fence, Fenced, OverrideRecord
from flowtui.store.admin import upgrade_database
from flowtui.store.leases import LeaseStore
from flowtui.store.postgres import OVERRIDES_CHANNEL, PostgresStore

FLOW = FlowRef("support", "wf_1")
SHORT = timedelta(seconds=1)


@pytest.fixture
def url(pg_url: str) -> str:
    upgrade_database(pg_url)
    return pg_url


@pytest.fixture
def leases(url: str) -> Iterator[list[LeaseStore]]:
    opened: list[LeaseStore] = []
    yield opened
    for lease_store in opened:
        lease_store.close()


def candidate(url: str, leases: list[LeaseStore], holder: str, **kwargs: object) -> Leadership:
    lease_store = LeaseStore(url, str(kwargs.pop("scheduler", "default")))
    leases.append(lease_store)
    return Leadership(lease_store, holder=holder, **kwargs)  # type: ignore[arg-type]


def intent(store: PostgresStore) -> int:
    return store.record_intent(
        FLOW,
        old_status="enabled",
        new_status="disabled",
        changed_by="scheduler:nightly",
        reason="window",
        at=datetime.now(UTC),
    )


def test_one_leader_then_takeover_after_expiry_and_the_old_one_is_fenced(
    url: str, leases: list[LeaseStore]
) -> None:
    first = candidate(url, leases, "host-a:1", lease=SHORT)
    second = candidate(url, leases, "host-b:2", lease=SHORT)
    assert first.step() is True
    assert second.step() is False
    assert "standby (leader host-a:1" in second.status()
    deposed_fence = first.fence
    assert deposed_fence is not None
    store = PostgresStore(url)
    try:
        store.fence = deposed_fence
        intent(store)  # written while the lease is current
        # `first` freezes (no more renewals): `second` takes over once the lease expires
        started = time.monotonic()
        wait_for(second.step, "the standby to take over", timeout=10)
        took = time.monotonic() - started
        assert took < 2 * SHORT.total_seconds() + 1
        assert second.epoch == deposed_fence.epoch + 1
        # the old leader resumes: its intent is refused by the database, and it steps down
        with pytest.raises(Fenced, match="no longer led under epoch"):
            intent(store)
        assert first.step() is False
        store.fence = second.fence
        intent(store)
        epochs = [(r.changed_by, r.event_type) for r in store.audit()]
        assert len(epochs) == 2
    finally:
        store.close()


def test_a_leader_that_cannot_renew_stops_before_its_lease_ends(
    url: str, leases: list[LeaseStore]
) -> None:
    now = [0.0]
    lease = timedelta(seconds=30)
    frozen = candidate(url, leases, "host-a:1", lease=lease, monotonic=lambda: now[0])
    standby = candidate(url, leases, "host-b:2", lease=lease)
    assert frozen.step() is True
    # a stall (SIGSTOP, a partition): no renewal for most of the lease, by its own clock
    now[0] = (1 - SAFETY) * lease.total_seconds() + 0.01
    assert frozen.is_leader is False
    assert frozen.fence is None
    # … while the database still counts the lease as held: nobody else acts either
    assert standby.step() is False


def test_renewal_keeps_the_lease_and_resigning_hands_it_over_at_once(
    url: str, leases: list[LeaseStore]
) -> None:
    first = candidate(url, leases, "host-a:1", lease=timedelta(seconds=30))
    second = candidate(url, leases, "host-b:2", lease=timedelta(seconds=30))
    assert first.step() is True
    assert first.step() is True  # a renewal
    assert first.epoch == 1
    first.resign()
    assert second.step() is True
    assert second.epoch == 2


def test_two_scheduler_names_on_one_database_are_independent(
    url: str, leases: list[LeaseStore]
) -> None:
    blue = candidate(url, leases, "host-a:1", scheduler="blue", lease=timedelta(seconds=30))
    green = candidate(url, leases, "host-b:2", scheduler="green", lease=timedelta(seconds=30))
    assert blue.step() is True
    assert green.step() is True


def test_an_unreachable_database_is_a_failed_round_not_a_crash() -> None:
    unreachable = LeaseStore("postgresql://flowtui:secret-pw@127.0.0.1:9/flowtui", "default")
    leadership = Leadership(unreachable, holder="host-a:1", lease=SHORT)
    assert leadership.step() is False
    assert leadership.last_error is not None
    assert "secret-pw" not in leadership.last_error


async def test_run_steps_and_reports_gaining_and_losing_leadership(
    url: str, leases: list[LeaseStore]
) -> None:
    leadership = candidate(url, leases, "host-a:1", lease=timedelta(seconds=3))
    changes: list[bool] = []
    stop = asyncio.Event()

    async def on_change(leading: bool) -> None:
        changes.append(leading)
        if leading:
            stop.set()

    await asyncio.wait_for(leadership.run(stop, on_change), timeout=10)
    assert changes == [True, False]  # resigned on the way out
    assert leadership.leases.current() is not None
    assert leadership.leases.current().expired  # type: ignore[union-attr]


def test_fence_must_match_the_scheduler_name(url: str, leases: list[LeaseStore]) -> None:
    leader = candidate(url, leases, "host-a:1", lease=timedelta(seconds=30))
    assert leader.step() is True
    store = PostgresStore(url)
    try:
        store.fence = Fence("another-team", leader.epoch or 0)
        with pytest.raises(Fenced):
            intent(store)
    finally:
        store.close()


def test_a_standby_records_no_scheduler_intent_whatever_path_it_takes(url: str) -> None:
    store = PostgresStore(url)
    try:
        with pytest.raises(Fenced, match="needs the lease"):
            intent(store)  # no fence: e.g. a SIGHUP reload pass on a standby
        assert store.audit() == []
    finally:
        store.close()


async def test_an_override_set_anywhere_reaches_the_leader_at_once(
    url: str, leases: list[LeaseStore]
) -> None:
    leadership = candidate(url, leases, "host-a:1", lease=timedelta(seconds=30))
    leadership.leases.listen(OVERRIDES_CHANNEL)  # type: ignore[attr-defined]
    heard: list[float] = []
    stop = asyncio.Event()

    async def on_notify(channels: list[str]) -> None:
        assert channels == [OVERRIDES_CHANNEL]
        heard.append(time.monotonic())
        stop.set()

    loop = asyncio.create_task(leadership.run(stop, on_notify=on_notify))
    await asyncio.to_thread(wait_for, lambda: leadership.is_leader, "the first step")
    operator = PostgresStore(url)  # an operator's CLI on another machine
    try:
        sent = time.monotonic()
        until = datetime.now(UTC) + timedelta(hours=1)
        pin = OverrideRecord(FLOW, "skip", until, "cli:alice", datetime.now(UTC))
        await asyncio.to_thread(operator.set_override, pin)
        await asyncio.wait_for(loop, timeout=10)
    finally:
        operator.close()
    assert heard
    assert heard[0] - sent < 1.0


async def test_a_new_epoch_after_a_stall_is_a_new_term(url: str, leases: list[LeaseStore]) -> None:
    """Frozen past its lease (nobody else took it), a leader takes the lease again under a
    new epoch: another leader may have acted meanwhile, so it takes over afresh."""
    leadership = candidate(url, leases, "host-a:1", lease=SHORT)
    terms: list[tuple[bool, int | None]] = []
    stop = asyncio.Event()

    async def on_change(leading: bool) -> None:
        terms.append((leading, leadership.epoch))
        if len(terms) == 1:
            time.sleep(SHORT.total_seconds() + 0.3)  # noqa: ASYNC251  (a stall of the whole process)
        elif leading:
            stop.set()

    await asyncio.wait_for(leadership.run(stop, on_change), timeout=10)
    assert terms[:2] == [(True, 1), (True, 2)]
