"""The flowtui app: one live table of every flow, keys to change them, and screens for
schedules, audit and details.

Every change goes through `FlowtuiApp.guard` (read-only mode refuses it there, with a
visible notice) and then through flowtui.changes (audited as `tui:<user>`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import PurePath
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from flowtui.changes import hand_change_fate
from flowtui.config import Config, did_you_mean
from flowtui.engine.events import (
    ConfigReloaded,
    DriftDetected,
    EngineFailed,
    Event,
    FlowChanged,
    PassCompleted,
    PlannedChange,
    RuleFired,
)
from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    SETTABLE,
    ChangeResult,
    Flow,
    ProviderError,
    outcome_summary,
)
from flowtui.providers.clients import close_all
from flowtui.store import StoreError
from flowtui.tui.change_text import changes_nothing, in_app_words, question
from flowtui.tui.commands import FlowCommands
from flowtui.tui.control import Control, FlowRow, Snapshot, is_rule_governed
from flowtui.tui.display import key_label
from flowtui.tui.governance import UNGOVERNED, Governance
from flowtui.tui.scheduler_link import SchedulerLink
from flowtui.tui.screens.main import MainScreen
from flowtui.tui.widgets.flow_table import FlowTable, signature
from flowtui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:  # (psycopg is imported only in team mode)
    from flowtui.tui.screens.override import OverrideRequest
    from flowtui.tui.team_link import TeamLink, TeamStatus

# The other screens are imported after the first paint
# (`FlowtuiApp.after_first_paint`), or when first opened: not while the app starts.


def screen_keys() -> tuple[tuple[str, type[DOMNode]], ...]:
    """(where, screen) of every screen whose keys `?` lists and the keymap remaps."""
    from flowtui.tui.screens.audit import AuditScreen
    from flowtui.tui.screens.confirm import ConfirmScreen
    from flowtui.tui.screens.details import DetailsScreen
    from flowtui.tui.screens.help import HelpScreen
    from flowtui.tui.screens.override import OverrideScreen
    from flowtui.tui.screens.rule_form import RuleFormScreen
    from flowtui.tui.screens.schedules import SchedulesScreen

    return (
        ("schedules", SchedulesScreen),
        ("rule form", RuleFormScreen),
        ("details", DetailsScreen),
        ("audit", AuditScreen),
        ("confirm", ConfirmScreen),
        ("override", OverrideScreen),
        ("help", HelpScreen),
    )


PIN_FALLBACK = timedelta(hours=24)  # pin length when a governing rule has no next change
MAX_ERROR_NOTES = 3
NOT_IN_PALETTE = {"palette", "cursor_down", "cursor_up", "page_down", "page_up", "clear"}
NEW_RULE_KEYS = {"rule_new_window", "rule_new_switch"}
SCHEDULER_WAITS_S = 5.0  # the longest the embedded scheduler waits for the first paint
CHUNK = 250  # rows merged between two yields to the event loop (keys stay responsive)

CONFIG_WARNING_S = 30  # a problem in the operator's file stays up long enough to be read


class FlowtuiApp(App[None]):
    """`FlowtuiApp(control)`; `scheduler` is the in-process scheduler link, if any; `team`
    follows the shared database in team mode (flowtui.tui.team_link)."""

    TITLE = "flowtui"
    CSS_PATH: ClassVar[list[str | PurePath]] = ["widgets/status_bar.tcss"]
    COMMANDS = App.COMMANDS | {FlowCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Palette", id="palette", show=False),
    ]

    def __init__(
        self,
        control: Control,
        scheduler: SchedulerLink | None = None,
        team: TeamLink | None = None,
        *,
        first_read: Awaitable[Snapshot] | None = None,
    ) -> None:
        super().__init__()
        self.control = control
        self._first_read = first_read  # a read started before the app (flowtui.tui.launch)
        self.scheduler = scheduler
        self.team = team
        self.zone = ZoneInfo(control.config.settings.timezone)
        self.keymap = dict(control.config.keys)
        self.rows: dict[str, FlowRow] = {}
        self.governance: Mapping[FlowRef, Governance] = {}  # as last shown
        self.account_errors: dict[str, str] = {}
        self._refreshing = False
        self._refresh_again = False
        self._main: MainScreen | None = None
        self._table: FlowTable | None = None
        self._status: StatusBar | None = None
        self.loaded = False  # the first read of every account has been shown
        self._scheduler_started = False
        self.planned: dict[FlowRef, State] = {}  # read-only: flows the scheduler would change
        self.show_counts()

    # -- start and stop -----------------------------------------------------------------

    async def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        main = MainScreen(self.zone)
        await self.push_screen(main)
        self._main = main
        self._table, self._status = main.query_one(FlowTable), main.query_one(StatusBar)
        self.status.update_status(
            self.now(),
            read_only=self.control.read_only,
            refreshing=True,
            scheduler=self.scheduler.label if self.scheduler else "not embedded",
        )
        if self.team is not None:
            self.show_team(self.team.status)
            self.team.start(self)
        self.request_refresh()
        interval = max(self.control.config.settings.refresh.total_seconds(), 1.0)
        self.set_interval(interval, self._tick_refresh)
        self.set_interval(1.0, self._tick_clock)
        self.set_timer(SCHEDULER_WAITS_S, self.start_scheduler)

    def start_scheduler(self) -> None:
        """Start the embedded scheduler once the table is first filled (or SCHEDULER_WAITS_S
        after mount, if an account is slow): its start pass reads every account too, and
        would otherwise compete with the first paint for the one interpreter."""
        if self.scheduler is not None and not self._scheduler_started:
            self._scheduler_started = True
            self.scheduler.start(self)

    async def on_unmount(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.team is not None:
            await asyncio.to_thread(self.team.close)
        await self.control.aclose()

    def now(self) -> datetime:
        return self.control.clock()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry platform text (brackets included): never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # The main screen's widgets, kept from mount on: workers and timers that finish while
    # the app shuts down still find them (a query would fail once the screen is gone).
    @property
    def main(self) -> MainScreen:
        if self._main is None:
            raise NoMatches("the main screen is not mounted yet")
        return self._main

    @property
    def table(self) -> FlowTable:
        if self._table is None:
            raise NoMatches("the main screen is not mounted yet")
        return self._table

    @property
    def status(self) -> StatusBar:
        if self._status is None:
            raise NoMatches("the main screen is not mounted yet")
        return self._status

    # -- refresh ------------------------------------------------------------------------

    def _tick_refresh(self) -> None:
        if not self._refreshing:
            self.request_refresh()

    def _tick_clock(self) -> None:
        now = self.now()
        self.status.tick(now)
        self.table.tick(now)

    def show_counts(self) -> None:
        """The header says how many flows the table shows of how many, and whether the
        first read is still loading (k9s: `Pods(all)[42]`)."""
        table = self._table
        shown, total = (table.row_count, len(table.rows_by_key)) if table else (0, 0)
        parts = ["read-only"] if self.control.read_only else []
        parts.append(f"{total} flows" if shown == total else f"{shown} of {total} flows")
        if not self.loaded:
            parts.append("loading…")
        self.sub_title = " · ".join(parts)

    def action_refresh_now(self) -> None:
        self.request_refresh()

    def request_refresh(self) -> None:
        """Read every account again; during a refresh, once more right after it (so that
        a change made meanwhile is never overwritten by an older read)."""
        if self._refreshing:
            self._refresh_again = True
        else:
            self._refreshing = True
            self.refresh_flows()

    @work(exclusive=True, exit_on_error=False, group="refresh")
    async def refresh_flows(self) -> None:
        self._refreshing = True
        try:
            again = True
            while again:
                self._refresh_again = False
                self.status.update_status(self.now(), refreshing=True)
                first, self._first_read = self._first_read, None
                snapshot = await (first or self.control.read_all())
                first_paint = not self.loaded
                await self.apply_snapshot(snapshot)
                # The rows and the header's count on screen first, then governance (the
                # header redraws after its own queue: waiting on it waits for both).
                await self.main.query_one(Header).wait_for_refresh()
                if first_paint:
                    await self.after_first_paint()
                governance = await asyncio.to_thread(self.control.governance, snapshot.at)
                if governance is not self.governance:  # (the same answer: nothing to redo)
                    await self.apply_governance(governance, snapshot.at)
                again = self._refresh_again
        except StoreError as exc:
            if self.control.store_problem is None:  # (else the status bar says it already)
                self.notify(str(exc), title="state store", severity="error")
        finally:
            self._refreshing = False

    async def after_first_paint(self) -> None:
        """What the first paint need not wait for: the other screens' modules (imported in
        a thread), then the check of the configured keys against them."""
        await asyncio.to_thread(screen_keys)
        self._warn_unknown_keys()

    async def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Merge one read into the rows: a flow that did not change keeps its row; flows of
        failed accounts keep their last known values with the error; an account never read
        gets one `account:*` error row. Works in chunks, yielding to the keys between them."""
        rows: dict[str, FlowRow] = {}
        changed: list[str] = []
        governance = self.governance
        for count, row in enumerate(snapshot.rows.values(), 1):
            key = row.key
            old = self.rows.get(key)
            row.governance = governance.get(row.ref, UNGOVERNED)
            if old is not None and signature(old) == signature(row):
                row = old
            else:
                changed.append(key)
            rows[key] = row
            if count % CHUNK == 0:
                await asyncio.sleep(0)
        for key, row in self.rows.items():
            if row.ref.account in snapshot.errors and row.ref.flow_id != "*":
                rows[key] = replace(row, error=snapshot.errors[row.ref.account])
                changed.append(key)
        for account, error in snapshot.errors.items():
            if not any(row.ref.account == account for row in rows.values()):
                ref = FlowRef(account, "*")
                row = FlowRow(ref, self.control.kind(account), "", State.UNKNOWN, error=error)
                rows[row.key] = row
                changed.append(row.key)
        self.rows = rows
        self.account_errors = snapshot.errors
        self.table.show_rows(rows, snapshot.at, snapshot.errors, changed)
        self.loaded = True
        self.show_counts()
        self.call_after_refresh(self.start_scheduler)  # after the first paint
        self.status.update_status(
            self.now(),
            refreshed=snapshot.at,
            refreshing=False,
            errors=tuple(sorted(snapshot.errors)),
        )

    async def apply_governance(
        self, governance: Mapping[FlowRef, Governance], at: datetime
    ) -> None:
        """Rule, next change and when of every row; the next transition in the status bar."""
        self.governance = governance
        changed = []
        for count, (key, row) in enumerate(list(self.rows.items()), 1):
            wanted = governance.get(row.ref, UNGOVERNED)
            if wanted is not row.governance and wanted != row.governance:
                self.rows[key] = replace(row, governance=wanted)
                changed.append(key)
            if count % CHUNK == 0:
                await asyncio.sleep(0)
        self.table.show_rows(self.rows, at, self.account_errors, changed)
        upcoming = [change.next_change for change in governance.values() if change.next_change]
        self.status.update_status(self.now(), next_transition=min(upcoming, default=None))

    def show_flow(self, flow: Flow, error: str | None = None) -> None:
        """One flow's new state (a change finished, the scheduler reported it)."""
        key = str(flow.ref)
        old = self.rows.get(key)
        if old is None and flow.ref.flow_id not in self.control.known.get(flow.ref.account, ()):
            return  # never a row for a flow no account lists (say, a pin on a missing flow)
        if old is None:
            row = self.control.row(flow)
        else:
            row = replace(old, state=flow.state, name=flow.name or old.name, error=error)
            if flow.updated:
                row.updated = flow.updated
            if flow.raw:
                row.raw = flow.raw
        self.rows[key] = row
        self.table.update_row(row)

    def show_state(self, ref: FlowRef, state: State, error: str | None = None) -> None:
        old = self.rows.get(str(ref))
        name = old.name if old else ""
        self.show_flow(Flow(ref, name, state, old.updated if old else None), error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background job failed unexpectedly: say so, keep running."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{event.worker.name}: {type(error).__name__}: {error}", severity="error")
            self._refreshing = False

    # -- the one gate for every change --------------------------------------------------

    def guard(self) -> bool:
        """False, with a visible notice, when this session may not change anything."""
        if self.control.read_only:
            self.notify("read-only mode: no change made", title="read-only", severity="warning")
            return False
        return True

    # -- changes ------------------------------------------------------------------------

    def action_change(self, action: str) -> None:
        if self.guard():
            self.change_flows(action, self.table.targets())

    def can_publish(self, account: str) -> bool:
        return bool(getattr(self.control.providers.get(account), "can_publish", False))

    def action_publish(self) -> None:
        """Publish the targets whose platform has a publish step (Diga); say so for the
        others rather than offering what the platform cannot do."""
        if not self.guard():
            return
        refs = self.table.targets()
        able = [ref for ref in refs if self.can_publish(ref.account)]
        skipped = sorted({self.control.kind(ref.account) for ref in refs if ref not in able})
        if skipped:
            what = " and ".join(skipped)
            left = f"; {len(refs) - len(able)} flow(s) left alone" if able else ""
            self.notify(f"{what} has no publish step{left}", severity="warning")
        if able:
            self.change_flows("publish", able)

    @work(group="change", exit_on_error=False)
    async def change_flows(self, action: str, refs: list[FlowRef]) -> None:
        from flowtui.tui.screens.confirm import PIN

        if not refs:
            self.notify("no flow under the cursor", severity="warning")
            return
        answer = await self._confirm(action, refs)
        if answer is None:
            return
        keys = [str(ref) for ref in refs]
        self.table.set_pending(keys, True)
        try:
            if action == "publish":
                results = await self._publish(refs)
            else:
                results = await self._converge(action, refs)
        except StoreError as exc:
            self.notify(f"{exc}; no change made", title="state store", severity="error")
            return
        finally:
            self.table.set_pending(keys, False)
            self.table.clear_marks()
        if answer == PIN:
            self._pin(results)
        self._report(action, results)

    async def _converge(self, action: str, refs: list[FlowRef]) -> list[ChangeResult]:
        results = await self.control.change(action, refs)
        for result in results:
            self.show_state(result.ref, result.state, None if result.ok else str(result.error))
        return results

    async def _publish(self, refs: list[FlowRef]) -> list[ChangeResult]:
        found = await self.control.publish(refs)
        results = []
        for ref, answer in found.items():
            if isinstance(answer, ProviderError):
                old = self.rows.get(str(ref))
                state = old.state if old else State.UNKNOWN
                results.append(ChangeResult.failed(ref, state, answer, state))
            else:
                self.show_flow(answer)
                results.append(
                    ChangeResult.verified(ref, answer.state, State.UNKNOWN, answer.state)
                )
        return results

    def _governed(self, refs: Iterable[FlowRef]) -> list[FlowRow]:
        return [
            row
            for ref in refs
            if (row := self.rows.get(str(ref))) is not None and is_rule_governed(row.governance)
        ]

    async def _confirm(self, action: str, refs: list[FlowRef]) -> str | None:
        """Ask first (settings.confirm, or a rule would undo the change), saying what will
        happen to which flows; never for a change that would change nothing."""
        from flowtui.tui.screens.confirm import CHANGE, ConfirmScreen

        rows = [row for ref in refs if (row := self.rows.get(str(ref))) is not None]
        if action != "publish" and changes_nothing(action, rows):
            return CHANGE  # converging only reads, and reports them as already so
        governed = self._governed(refs) if action != "publish" else []
        if not governed and not self.control.config.settings.confirm:
            return CHANGE
        detail, pin_label = "", None
        if governed:
            detail = self._fates(governed)
            pin_label = "Change + pin"
        return await self.push_screen_wait(ConfirmScreen(question(action, rows), detail, pin_label))

    def _fates(self, governed: list[FlowRow]) -> str:
        """What the scheduler will do with the hand change of each governed row, and what
        "Change + pin" does instead."""
        lines = []
        for row in governed[:MAX_ERROR_NOTES]:
            rule, coming = row.governance, row.governance.next_change
            when = None if coming is None else self.local_time(coming.at)
            then = None if coming is None else coming.to_state
            fate = hand_change_fate(rule.rule or "", rule.desired, rule.enforced, when, then)
            lines.append(f"{row.key}: {fate}.")
        if len(governed) > MAX_ERROR_NOTES:
            lines.append(f"… and {len(governed) - MAX_ERROR_NOTES} more governed flow(s).")
        hours = int(PIN_FALLBACK.total_seconds() // 3600)
        lines.append(
            "Change + pin: an override keeps the new state until the next transition"
            f" ({hours} h when none is scheduled), whatever the rule says."
        )
        return "\n".join(lines)

    def local_time(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("%a %Y-%m-%d %H:%M %Z")

    def _pin(self, results: list[ChangeResult]) -> None:
        rows = {row.ref: row for row in self._governed(result.ref for result in results)}
        for result in results:
            row = rows.get(result.ref)
            if row is None or not result.ok or result.state not in SETTABLE:
                continue
            transition = row.governance.next_change
            until = transition.at if transition else self.now() + PIN_FALLBACK
            self.control.set_override([result.ref], str(result.state), until)
        if rows:
            self.notify(f"pinned {len(rows)} flow(s) until the rule's next transition")
            self.overrides_changed()

    def _report(self, action: str, results: list[ChangeResult]) -> None:
        """One line of counts (as the CLI ends), then the first failures' reasons, in the
        app's words (a platform hint naming a CLI command names the key instead)."""
        failed = [result for result in results if not result.ok]
        counts = outcome_summary(result.outcome for result in results)
        self.notify(f"{action}: {counts}", severity="warning" if failed else "information")
        publish_key = key_label(self.keymap.get("publish", "p"))
        for result in failed[:MAX_ERROR_NOTES]:
            reason = in_app_words(str(result.error), publish_key)
            self.notify(f"{result.ref}: {reason}", title=f"{action} failed", severity="error")
        if len(failed) > MAX_ERROR_NOTES:
            self.notify(f"… and {len(failed) - MAX_ERROR_NOTES} more failures", severity="error")

    # -- override -----------------------------------------------------------------------

    def action_override(self) -> None:
        if not self.guard():
            return
        from flowtui.tui.screens.override import OverrideScreen

        refs = self.table.targets()
        if refs:
            self.push_screen(OverrideScreen(refs, self.now(), self.zone), self._apply_override)

    def _apply_override(self, request: OverrideRequest | None) -> None:
        if request is None:
            return
        try:
            if request.clear:
                count = self.control.clear_override(request.refs)
                self.notify(f"cleared {count} override(s)")
            else:
                self.control.set_override(request.refs, request.state, request.until)
                until = request.until.astimezone(self.zone).strftime("%a %H:%M")
                self.notify(f"pinned {len(request.refs)} flow(s) {request.state} until {until}")
        except StoreError as exc:
            self.notify(str(exc), title="state store", severity="error")
            return
        self.overrides_changed()

    def overrides_changed(self) -> None:
        """Overrides beat every rule: the embedded scheduler acts on them at once."""
        if self.scheduler is not None:
            self.run_worker(self.scheduler.converge("override"), exit_on_error=False)
        self.request_refresh()

    # -- screens ------------------------------------------------------------------------

    def action_details(self) -> None:
        key = self.table.cursor_key
        if key is not None and key in self.rows:
            from flowtui.tui.screens.details import DetailsScreen

            self.push_screen(DetailsScreen(self.control, self.rows[key], self.zone))

    def action_schedules(self) -> None:
        from flowtui.tui.screens.schedules import SchedulesScreen

        self.push_screen(SchedulesScreen(self.control, self.zone))

    def action_audit(self) -> None:
        from flowtui.tui.screens.audit import AuditScreen

        self.push_screen(AuditScreen(self.control, self.zone))

    def action_help(self) -> None:
        from flowtui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.keymap_rows()))

    def _warn_unknown_keys(self) -> None:
        known = [binding_id for binding_id, _, _, _ in self.keymap_rows()]
        for binding_id in sorted(set(self.keymap) - set(known)):
            hint = did_you_mean(binding_id, known) or "press ? for the ids"
            message = f"[keys]: no key with id {binding_id!r} ({hint})"
            self.notify(message, severity="warning", timeout=CONFIG_WARNING_S)

    def keymap_rows(self) -> list[tuple[str, str, str, str]]:
        """(binding id, key, description, where) of every remappable key, as mapped now."""
        places: list[tuple[str, type[DOMNode]]] = [
            ("flows", FlowTable),
            ("flows", MainScreen),
            ("anywhere", FlowtuiApp),
        ]
        rows = []
        for where, owner in (*places, *screen_keys()):
            for binding in owner.BINDINGS:
                if isinstance(binding, Binding) and binding.id:
                    key = self.keymap.get(binding.id, binding.key)
                    rows.append((binding.id, key, binding.description, where))
        return rows

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Awaitable[object]]]]:
        """(name, key, run) of the main screen's keys, named as `?` names them, and of the
        schedules screen's new-rule keys; run as if the key was pressed."""
        commands: list[tuple[str, str, Callable[[], Awaitable[object]]]] = []
        nodes: tuple[tuple[DOMNode, type[DOMNode]], ...] = (
            (self.table, FlowTable),
            (self.main, MainScreen),
            (self, FlowtuiApp),
        )
        for node, owner in nodes:
            for binding in owner.BINDINGS:
                if isinstance(binding, Binding) and binding.id not in NOT_IN_PALETTE:
                    key = key_label(self.keymap.get(binding.id or "", binding.key))
                    run = partial(self._run_from_palette, binding.action, node)
                    commands.append((binding.description, key, run))
        from flowtui.tui.screens.schedules import SchedulesScreen

        schedules = key_label(self.keymap.get("schedules", "s"))
        for binding in SchedulesScreen.BINDINGS:
            if isinstance(binding, Binding) and binding.id in NEW_RULE_KEYS:
                key = f"{schedules} then {key_label(self.keymap.get(binding.id, binding.key))}"
                run = partial(self._new_rule_from_palette, binding.action)
                commands.append((binding.description, key, run))
        return commands

    async def _run_from_palette(self, action: str, node: DOMNode) -> None:
        if action.startswith("screen."):  # the flow keys run on the main screen
            node, action = self.main, action.removeprefix("screen.")
        await self.run_action(action, node)

    async def _new_rule_from_palette(self, action: str) -> None:
        from flowtui.tui.screens.schedules import SchedulesScreen

        await self.push_screen(SchedulesScreen(self.control, self.zone))
        await self.run_action(action, self.screen)

    def config_saved(self, config: Config) -> None:
        """The rule editor wrote a new configuration: use it from now on."""
        retired = self.control.use_config(config)
        self.run_worker(close_all(retired), group="retired-clients", exit_on_error=False)
        if self.scheduler is not None:
            self.run_worker(self.scheduler.reload(), group="scheduler-reload", exit_on_error=False)
        self.request_refresh()

    # -- scheduler ----------------------------------------------------------------------

    def action_pause(self) -> None:
        if self.scheduler is None or not self.scheduler.embedded:
            reason = self.scheduler.reason if self.scheduler else "no scheduler in this app"
            self.notify(f"cannot pause: {reason}", severity="warning")
            return
        paused = self.scheduler.toggle_pause()
        self.notify("scheduler paused" if paused else "scheduler resumed")

    def show_scheduler(self, label: str) -> None:
        self.status.update_status(self.now(), scheduler=label)

    def show_team(self, team: TeamStatus) -> None:
        """Team mode: the leader and its heartbeat, or why the database cannot be used."""
        self.status.update_status(self.now(), team=team.text, team_level=team.level)

    def show_health(self, summary: str) -> None:
        """The embedded scheduler's health, as `daemon --http`'s /readyz would give it."""
        self.status.update_status(self.now(), health=summary)

    def scheduler_event(self, event: Event) -> None:
        """What the embedded scheduler did, shown at once."""
        if isinstance(event, FlowChanged):
            self.show_state(event.flow, event.new, event.error)
        elif isinstance(event, RuleFired):
            self.notify(f"rule {event.rule}: {event.flows} flow(s) due", title="scheduler")
        elif isinstance(event, DriftDetected):
            action = "correcting" if event.corrected else "left until the next transition"
            wants = f"rule {event.rule} wants {event.desired}"
            self.notify(
                f"{event.flow} is {event.actual}, {wants}: {action}",
                title="drift",
                severity="warning",
            )
        elif isinstance(event, EngineFailed | ConfigReloaded):
            failed = isinstance(event, EngineFailed) or not event.ok
            self.notify(
                event.message, title="scheduler", severity="error" if failed else "information"
            )
        elif isinstance(event, PlannedChange):  # read-only: what it would have done
            self.planned[event.flow] = event.new
            last = f"{event.flow} → {event.new} ({event.rule})"
            self.status.update_status(self.now(), planned=len(self.planned), last_planned=last)
        elif isinstance(event, PassCompleted) and event.changed:
            self.request_refresh()
