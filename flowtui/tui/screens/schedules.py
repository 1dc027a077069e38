"""`s`: every rule with its next transitions and paused state, and a week's timeline.
space pauses or resumes a rule; n / b add a maintenance window / an A/B switch; e edits."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from flowtui.config import AbSwitchRule, Config, MaintenanceRule, Rule
from flowtui.config_writer import Edit, set_paused
from flowtui.durations import format_duration
from flowtui.rules import Transition
from flowtui.timeline import render_timeline
from flowtui.tui.control import Control
from flowtui.tui.display import safe, target_text
from flowtui.tui.governance import HORIZON
from flowtui.tui.rule_edits import RuleEditError, kind_of, save
from flowtui.tui.screens.rule_form import RuleFormScreen

if TYPE_CHECKING:
    from flowtui.tui.app import FlowtuiApp

COLUMNS = ("RULE", "TYPE", "FLOWS", "WINDOW", "NEXT TRANSITIONS", "STATUS")
SHOWN_TRANSITIONS = 2
MAX_FLOWS_TEXT = 36


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return (moment.astimezone(zone) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M")


def window_text(rule: Rule, zone: ZoneInfo) -> str:
    """The rule's window in a few words (times in the rule's zone)."""
    if isinstance(rule, AbSwitchRule):
        if rule.b_cron and rule.b_duration:
            return f"B: {rule.b_cron} for {format_duration(rule.b_duration)}"
        every = format_duration(rule.every) if rule.every else "?"
        start = _local(rule.start, zone) if rule.start else "?"
        return f"A/B every {every} from {start}"
    if rule.cron and rule.duration:
        return f"{rule.cron} for {format_duration(rule.duration)}"
    if rule.start and rule.end:
        return f"{_local(rule.start, zone)} → {_local(rule.end, zone)}"
    days = ",".join(rule.days or ())
    begin = rule.from_.strftime("%H:%M") if rule.from_ else "?"
    end = rule.to.strftime("%H:%M") if rule.to else "?"
    return f"{days} {begin}–{end}"


def flows_text(rule: Rule) -> str:
    if isinstance(rule, MaintenanceRule):
        text = ", ".join(rule.flows)
    else:
        text = f"A: {', '.join(rule.a)}  B: {', '.join(rule.b)}"
    return text if len(text) <= MAX_FLOWS_TEXT else text[: MAX_FLOWS_TEXT - 1] + "…"


class SchedulesScreen(Screen[None]):
    CSS_PATH = "schedules.tcss"
    AUTO_FOCUS = "#rules"  # arrows and space act on the rules at once
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="schedules_back"),
        Binding("space", "pause_rule", "Pause/resume rule", id="rule_pause"),
        Binding("n", "new('maintenance')", "New window", id="rule_new_window"),
        Binding("b", "new('ab_switch')", "New A/B switch", id="rule_new_switch"),
        Binding("e", "edit", "Edit rule", id="rule_edit"),
    ]

    def __init__(self, control: Control, zone: ZoneInfo) -> None:
        super().__init__()
        self.control = control
        self.zone = zone

    @property
    def flowtui(self) -> FlowtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield DataTable(id="rules", cursor_type="row", zebra_stripes=True)
            yield Static("", id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "schedules"
        table = self.query_one("#rules", DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        self.redraw()

    def on_resize(self) -> None:
        self.draw_timeline()

    def redraw(self) -> None:
        """Fill the rules table and the timeline from the current configuration."""
        config = self.control.config
        table = self.query_one("#rules", DataTable)
        cursor = table.cursor_row
        table.clear()
        upcoming = self.upcoming(config)
        for rule in config.rules:
            status = Text("paused", style="bold yellow") if rule.paused else Text("active", "green")
            table.add_row(
                safe(rule.name),
                "maintenance" if isinstance(rule, MaintenanceRule) else "A/B switch",
                safe(flows_text(rule)),
                window_text(rule, config.zone(rule)),
                "paused" if rule.paused else self.transitions_text(upcoming.get(rule.name, [])),
                status,
                key=rule.name,
            )
        if config.rules:
            table.move_cursor(row=min(max(cursor, 0), len(config.rules) - 1))
        self.draw_timeline()

    def draw_timeline(self, now: object = None) -> None:
        width = max(self.size.width - 4, 60)
        moment = self.control.clock()
        self.query_one("#timeline", Static).update(
            render_timeline(self.control.config, moment, width)
        )

    def upcoming(self, config: Config) -> dict[str, list[Transition]]:
        now = self.control.clock()
        found: dict[str, list[Transition]] = defaultdict(list)
        schedule = self.control.schedule()
        for transition in schedule.transitions(now, now + HORIZON, self.control.prior_states()):
            times = found[transition.rule]
            if len({t.at for t in times}) < SHOWN_TRANSITIONS or transition.at in {
                t.at for t in times
            }:
                times.append(transition)
        return found

    def transitions_text(self, transitions: list[Transition]) -> str:
        by_time: dict[str, set[str]] = {}
        for transition in transitions:
            when = transition.at.astimezone(self.zone).strftime("%a %d %H:%M")
            by_time.setdefault(when, set()).add(target_text(transition.to_state))
        parts = [f"{when} → {'/'.join(sorted(states))}" for when, states in by_time.items()]
        return ", ".join(parts) or "none in 7 days"

    def selected(self) -> Rule | None:
        table = self.query_one("#rules", DataTable)
        if table.row_count == 0:
            return None
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((rule for rule in self.control.config.rules if rule.name == name), None)

    def _save(self, edit: Edit) -> Config:
        path = self.control.config_path
        if path is None:
            raise RuleEditError(["this session has no configuration file to write"])
        saved = save(path, edit)
        self.flowtui.config_saved(saved)
        return saved

    def action_pause_rule(self) -> None:
        rule = self.selected()
        if rule is None or not self.flowtui.guard():
            return
        try:
            self._save(set_paused(rule.name, not rule.paused))
        except (RuleEditError, OSError) as error:
            self.notify(str(error), title="not saved", severity="error")
            return
        self.notify(f"rule {rule.name} {'resumed' if rule.paused else 'paused'}")
        self.redraw()

    def action_new(self, kind: str) -> None:
        if self.flowtui.guard():
            self.app.push_screen(RuleFormScreen(self.control.config, kind, self._save), self._saved)

    def action_edit(self) -> None:
        rule = self.selected()
        if rule is not None and self.flowtui.guard():
            form = RuleFormScreen(self.control.config, kind_of(rule), self._save, rule)
            self.app.push_screen(form, self._saved)

    def _saved(self, config: Config | None) -> None:
        if config is not None:
            self.notify("schedules.toml saved (previous kept as schedules.toml.bak)")
            self.redraw()
