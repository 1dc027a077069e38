"""The scheduler: APScheduler wakes the engine at the next transition and every `resync`;
each wake-up is one converge pass of flowtui.engine.reconcile at the current instant — at a
transition only the flows whose desired state changed, at a resync every governed flow.

A pass is split into independent lanes (flowtui.engine.lanes): one per account and one per
A/B switch. A wake-up only hands its instant to the lanes and returns, so no transition
waits behind another account's reads, retries or backoff; wake-ups are planned on the
engine's clock (`Clock.wall`), so tests drive time and no run depends on the calendar.

Embeddable: `Scheduler(config_path, state_dir, bus, clock)` with `start()` / `stop()` /
`pause()` / `resume()` / `converge_now()` / `reload()` needs no signals and no CLI, and
publishes everything it does on `bus` — its only output. Tests call `open()` (everything
but the timers) and `converge_now(now)` with a hand-moved clock instead of waiting.

No job is pickled (in-memory job store); the TOML file and the state store are the truth.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from flowtui import locations
from flowtui.config import Config, ConfigError, load_config
from flowtui.engine.clock import Clock, SystemClock, real_span
from flowtui.engine.events import (
    ConfigReloaded,
    EngineFailed,
    EventBus,
    PassCompleted,
    SchedulerState,
    SchedulerStatus,
)
from flowtui.engine.lanes import Lanes
from flowtui.engine.leadership import Leadership
from flowtui.engine.lock import LockHeld, SchedulerLock
from flowtui.engine.reconcile import Action, Reconciler, Report, merge_reports
from flowtui.providers.base import Provider, ProviderError
from flowtui.providers.clients import AccountClients
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.providers.registry import Environment
from flowtui.providers.transport import RetryPolicy
from flowtui.rules import conflicts
from flowtui.store import Store, StoreError, StoreTarget, open_store, store_target

log = logging.getLogger(LOGGER_NAME)

MISFIRE_GRACE = timedelta(hours=6)
TRANSITION_JOB = "transition"
RESYNC_JOB = "resync"
RETRY_JOB = "retry"
OVERRIDES_JOB = "overrides"
OVERRIDE_POLL = timedelta(seconds=2)  # how soon an override set by another process acts
RETRY_FIRST = timedelta(seconds=5)
STOP_GRACE_S = 5.0  # on stop, how long passes in flight may finish before they are cut off


def load_checked(path: Path) -> Config:
    """The configuration if it passes `flowtui check`'s rules checks; ConfigError if not.
    (A missing secret is not fatal here: that account fails alone.)"""
    config = load_config(path)
    problems = conflicts(config)
    if problems:
        raise ConfigError(problems)
    return config


def default_state_dir() -> Path:
    return locations.default_state_dir()


class Scheduler:
    """One scheduler for one configuration file and one state directory."""

    def __init__(
        self,
        config_path: Path,
        state_dir: Path | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        *,
        env: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        dry_run: bool = False,
        first_retry: timedelta = RETRY_FIRST,
        clients: AccountClients | None = None,
    ) -> None:
        self.config_path = config_path
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.dry_run = dry_run
        self._state_dir = state_dir
        self._env = env
        self._retry = retry
        self._lanes: Lanes[Report] = Lanes(self._run_unit)
        self._wakes: set[asyncio.Task[None]] = set()
        self._lock: SchedulerLock | None = None
        self._store: Store | None = None
        self._target: StoreTarget | None = None
        self._clients = clients  # shared with the app when given; else built and owned here
        self._owns_clients = clients is None
        self._reconciler: Reconciler | None = None
        self._transition_job: str | None = None
        self._first_retry = self._retry_delay = first_retry
        self._seen_overrides: tuple[tuple[str, str, datetime], ...] | None = None
        self._aps: AsyncIOScheduler | None = None
        self._file_stamp: tuple[int, int] | None = None
        self._last_pass: datetime | None = None
        self._closed = False
        self.paused = False
        self.holder_pid: int | None = None  # set when another process holds the lock
        self.leadership: Leadership | None = None  # team mode: the lease decides who acts
        self._lead_stop = asyncio.Event()
        self._lead_task: asyncio.Task[None] | None = None
        self.next_transition: datetime | None = None
        self.last_report: Report | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def status(self) -> SchedulerStatus:
        """For a status bar: running, paused, stopped, or held by `holder_pid`."""
        if self.holder_pid is not None:
            return SchedulerStatus.HELD
        if self._closed or self._aps is None or not self._aps.running:
            return SchedulerStatus.STOPPED
        return SchedulerStatus.PAUSED if self.paused else SchedulerStatus.RUNNING

    @property
    def state_dir(self) -> Path:
        return self._state_dir or default_state_dir()

    async def _prepare(self) -> None:
        """Everything `open` does but the start pass."""
        config = self._load()
        if self._state_dir is None and config.settings.state_dir is not None:
            self._state_dir = config.settings.state_dir
        if config.settings.read_only:
            self.dry_run = True  # SPEC §2: in read-only mode the daemon only plans
        try:
            target = self._target = store_target(config.settings, self.state_dir, self._env)
            if not self.dry_run and not target.team:  # team mode: the lease, not the file lock
                self._lock = SchedulerLock(self.state_dir)
                self._lock.acquire()
                self.holder_pid = None  # (a holder seen before has gone: we hold it now)
            self._store = open_store(target)
            if target.team and not self.dry_run:
                await self._join_election(target)
        except LockHeld as held:
            self._lock = None
            self.holder_pid = held.pid or -1
            self._publish_state(SchedulerStatus.HELD, holder_pid=held.pid)
            raise
        except BaseException:
            await self.close()
            raise
        providers, errors = await self._build(config)
        self._reconciler = Reconciler(
            config,
            providers,
            self._store,
            self.bus,
            self.clock,
            provider_errors=errors,
            dry_run=self.dry_run,
        )
        if self.leadership is not None:  # a leader stalled after its intents sends nothing
            self._reconciler.may_send = self._may_act
        try:
            self._reconciler.load_memory()
            if not self.dry_run and self._may_act():  # a standby leaves it to the leader
                await self._reconciler.recover()
        except BaseException:
            await self.close()
            raise

    async def open(self) -> Report:
        """Load the config, take the lock (unless dry run), open the store, build providers,
        re-verify intents a crash left open and converge once. Raises ConfigError, LockHeld
        (after publishing who holds it) or StoreError; nothing is left open then."""
        await self._prepare()
        return await self._start_pass()

    async def _start_pass(self) -> Report:
        try:
            if not self._may_act():  # a standby: the leader acts; it stays warm, its
                self._plan_wakeup()  # next transition known (SPEC §8)
                return Report(self.clock.now())
            return await self.converge_now(trigger="start")
        except BaseException:
            await self.close()
            raise

    async def start(self) -> Report:
        """Open as `open()` does, with APScheduler already waking the engine at transitions
        and every resync while the start pass runs: a slow account's start pass holds no
        other account's transition."""
        await self._prepare()
        assert self._reconciler is not None
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            },
        )
        resync = real_span(self.clock, self._reconciler.config.settings.resync)
        self._aps.add_job(
            self.wake,
            IntervalTrigger(seconds=max(0.001, resync.total_seconds())),
            ("resync",),
            id=RESYNC_JOB,
        )
        self._aps.add_job(
            self.wake,
            IntervalTrigger(seconds=OVERRIDE_POLL.total_seconds()),
            ("override",),
            id=OVERRIDES_JOB,
        )
        self._aps.start()
        self._start_leading_loop()
        self._publish_state(SchedulerStatus.RUNNING)
        return await self._start_pass()  # plans the first wake-up before its own work

    async def stop(self) -> None:
        """Stop waking up, let passes in flight finish (up to STOP_GRACE_S), release all.
        `stopped` is published only when it had started: a start that failed (say, a wrong
        database password) is one line of its own, not followed by `scheduler stopped`."""
        self._closed = True
        started = self._aps is not None
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        await self._lanes.stop(STOP_GRACE_S)
        await asyncio.gather(*self._wakes, return_exceptions=True)
        await self.close()
        if started:
            self._publish_state(SchedulerStatus.STOPPED)

    async def close(self) -> None:
        """Release providers, store and lock (what `open` took)."""
        self._closed = True
        if self._owns_clients and self._clients is not None:
            await self._clients.aclose()
        await self._leave_election()
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def pause(self) -> None:
        """Stop acting on transitions and resyncs until `resume()` (the app's `P` key)."""
        self.paused = True
        if self._aps is not None and self._aps.running:
            self._aps.pause()
        self._publish_state(SchedulerStatus.PAUSED)

    def resume(self) -> None:
        """Act again at once: transitions missed while paused are made, drift is treated as
        drift (a hand change under a rule that does not enforce stays; nothing is replayed)."""
        self.paused = False
        if self._aps is not None and self._aps.running:
            self._aps.resume()
            self._aps.add_job(self.wake, args=("resume",), id="resume", replace_existing=True)
        self._publish_state(SchedulerStatus.RUNNING)

    # -- passes ---------------------------------------------------------------------------

    async def converge_now(self, now: datetime | None = None, trigger: str = "manual") -> Report:
        """One converge pass at `now` (default: the clock), every lane at once; returns when
        all lanes have done it. The next wake-up is planned first, not after the work."""
        if self._reconciler is None or self._closed:
            raise RuntimeError("the scheduler is not open")
        now = now or self.clock.now()
        full = trigger not in ("transition", "retry", "override")
        self._plan_wakeup(now)
        # the overrides this pass acts on, noted before it runs: an override poll during a
        # long pass (a start pass over thousands of flows) must not queue another pass
        self._seen_overrides = self._overrides_now(now)
        units = self._reconciler.units()
        report = merge_reports(
            now, await asyncio.gather(*(self._lanes.request(u, now, full) for u in units))
        )
        self._last_pass = now if self._last_pass is None else max(self._last_pass, now)
        self.last_report = report
        self.bus.publish(
            PassCompleted(
                trigger,
                now,
                changed=report.count(Action.CHANGED),
                failed=sum(1 for o in report.outcomes if o.failed),
                drifted=report.count(Action.DRIFT),
            )
        )
        self._plan_retry(report)
        return report

    async def _run_unit(self, unit: str, now: datetime, full: bool) -> Report:
        assert self._reconciler is not None
        return await self._reconciler.converge_unit(unit, now, full=full)

    async def wake(self, trigger: str, at: datetime | None = None) -> asyncio.Task[None] | None:
        """What APScheduler runs: hand the pass to the lanes and return at once (with the
        task that runs it, None when paused), so APScheduler never finds a job still
        running ("maximum number of running instances")."""
        if self._closed or self.paused:
            return None
        if not self._may_act():  # a standby keeps its next transition current, no more
            if trigger == "transition" and at is not None:
                self._plan_wakeup(at)
            return None
        task = asyncio.create_task(self._wake_pass(trigger, at))
        self._wakes.add(task)
        task.add_done_callback(self._wakes.discard)
        return task

    async def _wake_pass(self, trigger: str, at: datetime | None) -> None:
        """One pass for a wake-up; errors published, never raised."""
        try:
            if trigger in ("resync", "resume") and self._config_changed():
                await self.reload()  # converges itself
                return
            now = self.clock.now()
            if trigger == "override" and self._overrides_now(now) == self._seen_overrides:
                return  # nothing new from `flowtui override` or the app
            await self.converge_now(max(now, at) if at is not None else now, trigger)
        except (StoreError, ProviderError) as exc:
            self.bus.publish(EngineFailed(f"{trigger} pass failed: {exc}", self.clock.now()))
        except RuntimeError:
            if not self._closed:  # closed while waking: nothing to do
                raise
        except Exception as exc:  # a bug: say so, keep the scheduler alive for the next wake
            log.exception("%s pass failed", trigger)
            message = f"{trigger} pass failed: unexpected {type(exc).__name__}: {exc}"
            self.bus.publish(EngineFailed(message, self.clock.now()))

    def _overrides_now(self, now: datetime) -> tuple[tuple[str, str, datetime], ...] | None:
        if self._store is None:
            return None
        return tuple((str(o.flow), o.state, o.until) for o in self._store.overrides(now=now))

    def _plan_wakeup(self, now: datetime | None = None) -> None:
        """(Re)schedule the date job at the next transition after `now`."""
        if self._reconciler is None or self._closed:
            return
        now = now or self.clock.now()
        self.next_transition = self._reconciler.next_transition(now)
        if self._aps is None or not self._aps.running:
            return
        # A job id per instant: a transition pass that schedules the next one while it still
        # runs must not make APScheduler skip it as "already running".
        job_id = (
            None if self.next_transition is None else f"{TRANSITION_JOB}@{self.next_transition}"
        )
        if self._transition_job not in (None, job_id) and self._aps.get_job(self._transition_job):
            self._aps.remove_job(self._transition_job)
        self._transition_job = job_id
        if self.next_transition is not None and self._aps.get_job(job_id) is None:
            self._aps.add_job(
                self.wake,
                DateTrigger(run_date=self.clock.wall(self.next_transition)),
                ("transition", self.next_transition),
                id=job_id,
            )

    def _plan_retry(self, report: Report) -> None:
        """After transient failures, try the failed flows again soon — `first_retry`, then
        doubling up to the resync interval — instead of only at the next resync."""
        assert self._reconciler is not None
        resync = self._reconciler.config.settings.resync
        if not any(o.failed and not o.permanent for o in report.outcomes):
            self._retry_delay = self._first_retry
            return
        delay = self._retry_delay
        if self._aps is None or not self._aps.running or delay >= resync:
            return
        self._retry_delay = min(2 * delay, resync)
        self._aps.add_job(
            self.wake,
            DateTrigger(run_date=self.clock.wall(self.clock.now() + delay)),
            ("retry",),
            id=RETRY_JOB,
            replace_existing=True,
        )

    # -- configuration ----------------------------------------------------------------------

    def _load(self) -> Config:
        self._file_stamp = self._stamp()
        return load_checked(self.config_path)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            status = self.config_path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def _config_changed(self) -> bool:
        stamp = self._stamp()
        return stamp is not None and stamp != self._file_stamp

    async def _build(self, config: Config) -> tuple[dict[str, Provider], dict[str, ProviderError]]:
        if self._clients is None:
            env = Environment(
                state_dir=self.state_dir,
                env=self._env,
                retry=self._retry,
                max_response=config.settings.max_response,
                state_url=self._target.url if self._target else None,  # team: shared tokens
            )
            self._clients = AccountClients(env)
        await self._clients.update(config.accounts)  # closes removed or changed accounts
        return self._clients.providers, self._clients.errors

    async def reload(self) -> bool:
        """Re-read the file (SIGHUP, or a changed file at resync). If it fails the checks,
        keep the old rules and publish one line saying why; else converge on the new ones."""
        now = self.clock.now()
        try:
            config = self._load()
        except ConfigError as error:
            first = error.problems[0] if error.problems else error
            more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
            message = f"config not reloaded, keeping the old rules: {first}{more}"
            self.bus.publish(ConfigReloaded(False, message, now))
            return False
        await self._lanes.drain()  # no lane runs on the old rules while they are swapped
        if self._reconciler is None or self._closed:
            return False
        providers, errors = await self._build(config)  # closes removed or changed accounts
        self._reconciler.update(config, providers, errors)
        self.bus.publish(ConfigReloaded(True, f"config reloaded: {len(config.rules)} rules", now))
        if self.paused:  # act on the new rules when resumed
            self._plan_wakeup()
            return True
        try:
            await self.converge_now(trigger="reload")
        except (StoreError, ProviderError) as exc:
            self.bus.publish(EngineFailed(f"reload pass failed: {exc}", self.clock.now()))
        return True

    # -- running as a daemon ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """`start()`, then run until `stop` is set (signals set it); then `stop()`. A stop
        during the start pass (an account stuck in retries) does not wait for it to end."""
        starting = asyncio.create_task(self.start())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # what start raised (config, lock, store) ends the run
                await stopping
        finally:
            stopping.cancel()
            await self.stop()
            await asyncio.gather(starting, return_exceptions=True)

    # -- team mode hook: leadership (flowtui.engine.leadership) ---------------------------
    # open() joins the election instead of taking the file lock; passes run only while
    # leading (_may_act); start() runs the lease loop, which also LISTENs for overrides;
    # gaining the lease re-verifies open intents and converges as on start.

    async def _join_election(self, target: StoreTarget) -> None:
        from flowtui.store.leases import LeaseStore  # psycopg only in team mode
        from flowtui.store.postgres import OVERRIDES_CHANNEL

        assert target.url is not None
        leases = LeaseStore(target.url, target.scheduler)
        self.leadership = Leadership(leases, lease=target.lease)
        await asyncio.to_thread(leases.listen, OVERRIDES_CHANNEL)
        await asyncio.to_thread(self.leadership.step)
        log.warning("scheduler %s: %s", target.scheduler, self.leadership.status())

    def _may_act(self) -> bool:
        """Always outside team mode; in team mode only while leading. The store gets the
        current fence, so an intent written after the lease was lost is refused."""
        if self.leadership is None:
            return True
        if self._store is not None:
            self._store.fence = self.leadership.fence
        return self.leadership.is_leader

    def _start_leading_loop(self) -> None:
        if self.leadership is None:
            return
        self._lead_stop = asyncio.Event()
        self._lead_task = asyncio.create_task(
            self.leadership.run(self._lead_stop, self._leading_changed, self._notified)
        )

    async def _leave_election(self) -> None:
        leadership, self.leadership = self.leadership, None
        if leadership is None:
            return
        if self._lead_task is not None:
            self._lead_stop.set()
            await asyncio.gather(self._lead_task, return_exceptions=True)
            self._lead_task = None
        else:
            await asyncio.to_thread(leadership.resign)
        leadership.leases.close()

    async def _leading_changed(self, leading: bool) -> None:
        """The lease was gained or lost: say so; on gaining it, take over as on start — in
        a task of its own, as the lease loop must go on renewing meanwhile."""
        assert self.leadership is not None
        self._may_act()  # the store's fence follows at once
        log.warning("scheduler %s", self.leadership.status())
        if leading and self._reconciler is not None and not self.paused and not self._closed:
            task = asyncio.create_task(self._take_over())
            self._wakes.add(task)
            task.add_done_callback(self._wakes.discard)

    async def _take_over(self) -> None:
        assert self._reconciler is not None
        try:
            self._reconciler.load_memory()  # what the previous leader applied
            await self._reconciler.recover()
            await self.converge_now(trigger="start")
        except (StoreError, ProviderError) as exc:
            self.bus.publish(EngineFailed(f"takeover pass failed: {exc}", self.clock.now()))

    async def _notified(self, channels: list[str]) -> None:
        """An override changed somewhere (LISTEN): act on it now, not at the next poll."""
        await self.wake("override")

    def _publish_state(self, status: SchedulerStatus, holder_pid: int | None = None) -> None:
        self.bus.publish(SchedulerState(status, self.clock.now(), self.next_transition, holder_pid))


def install_signal_handlers(scheduler: Scheduler, stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT: graceful stop; SIGHUP: reload the configuration."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[bool]] = set()

    def reload() -> None:
        task = loop.create_task(scheduler.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
