"""`flowtui plan --against OLD.toml`: what the change from OLD.toml to the configuration
does to the coming transitions, as text, JSON or a Markdown table for a review. Exit 0
when nothing changes, 1 when something does, 2 when either file has problems. Reads no
store and no network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click

from flowtui.cli.check import report_and_exit
from flowtui.cli.context import CliContext, fail
from flowtui.config import Config, ConfigError, ConfigProblem, load_config
from flowtui.durations import format_duration
from flowtui.plan_diff import (
    HORIZON_LIMIT,
    FlowChange,
    GoverningChange,
    PeriodChange,
    PlanDiff,
    StartChange,
    Step,
    TransitionChange,
    diff_plans,
)
from flowtui.rules import conflicts

EXIT_UNCHANGED = 0
EXIT_CHANGED = 1
Row = tuple[str, str, str, str, str]  # flow, change, rule, old, new


def check_horizon(hours: float) -> None:
    """Refuse a horizon over a year, with a hint (before any file is read)."""
    limit = HORIZON_LIMIT / timedelta(hours=1)
    if hours > limit:
        fail(
            f"--hours {hours:g} is over a year (at most {limit:g}); compare a year at a time"
            " with --from"
        )


def load_both(old_path: Path, new_path: Path) -> tuple[Config, Config]:
    """Both configurations, or every problem of both files (located) and exit 2."""
    problems: list[ConfigProblem] = []
    configs = []
    for path in (old_path, new_path):
        try:
            config = load_config(path)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        problems.extend(conflicts(config))
        configs.append(config)
    if problems:
        report_and_exit(problems)
    return configs[0], configs[1]


def plan_against(
    cli: CliContext,
    old_path: Path,
    start_of: Callable[[ZoneInfo], datetime],
    hours: float,
    output: str,
) -> NoReturn:
    """Print the difference and exit 0 (nothing changes) or 1 (something does)."""
    check_horizon(hours)
    old, new = load_both(old_path, cli.resolved_config_path())
    begin = start_of(ZoneInfo(new.settings.timezone))
    diff = diff_plans(old, new, begin, begin + timedelta(hours=hours))
    if output == "json":
        click.echo(json.dumps(diff.as_json()))
    else:
        rows = _rows(diff, _Clock(old), _Clock(new))
        title = _title(diff, hours, old_path, len(rows))
        render = _markdown if output == "markdown" else _text
        click.echo("\n".join(render(title, rows)))
    raise SystemExit(EXIT_CHANGED if diff.changed else EXIT_UNCHANGED)


# -- rendering -------------------------------------------------------------------------


class _Clock:
    """Instants on the wall clock of a rule of one configuration."""

    def __init__(self, config: Config) -> None:
        self._zones = {rule.name: config.zone(rule) for rule in reversed(config.rules)}
        self._default = ZoneInfo(config.settings.timezone)

    def show(self, at: datetime, rule: str) -> str:
        return at.astimezone(self._zones.get(rule, self._default)).strftime("%a %Y-%m-%d %H:%M %Z")


def _states(step: Step) -> str:
    return f"{_state(step.from_state)} → {_state(step.to_state)}"


def _state(value: object) -> str:
    return "untouched" if value is None else str(value)


def _signed(delta: timedelta) -> str:
    return ("-" if delta < timedelta(0) else "+") + format_duration(abs(delta))


def _transition_row(change: TransitionChange, was: _Clock, now: _Clock) -> Row:
    flow, rule, old, new = str(change.flow), change.rule, change.old, change.new
    before = f"{was.show(old.at, rule)}: {_states(old)}" if old else "—"
    if new is None:
        return flow, "removed", rule, before, "—"
    if old is None:
        return flow, "added", rule, before, f"{now.show(new.at, rule)}: {_states(new)}"
    if change.kind == "moved":
        return flow, "moved", rule, before, f"{now.show(new.at, rule)} ({_signed(new.at - old.at)})"
    return flow, "changed", rule, before, _states(new)


def _row(change: FlowChange | PeriodChange, was: _Clock, now: _Clock) -> Row:
    if isinstance(change, TransitionChange):
        return _transition_row(change, was, now)
    if isinstance(change, GoverningChange):
        rules = ", ".join(change.rules)
        if change.kind == "governed":
            return str(change.flow), "newly governed", rules, "not governed", "governed"
        return str(change.flow), "released", rules, "governed", "not governed"
    if isinstance(change, StartChange):
        old, new = change.old, change.new
        rule = " → ".join(dict.fromkeys(d.rule for d in (old, new) if d is not None))
        return (
            str(change.flow),
            "at start",
            rule,
            _state(old and old.state),
            _state(new and new.state),
        )
    if isinstance(change, PeriodChange):
        return ", ".join(change.flows), "switch period", change.rule, change.old, change.new
    span = f"{was.show(change.start, change.old.rule)} – {was.show(change.end, change.old.rule)}"
    return (
        str(change.flow),
        "winner changed",
        f"{change.old.rule} → {change.new.rule}",
        f"{span}: {change.old.rule} ({change.old.state})",
        f"{change.new.rule} ({change.new.state})",
    )


def _rows(diff: PlanDiff, was: _Clock, now: _Clock) -> list[Row]:
    return [_row(change, was, now) for change in (*diff.flow_changes(), *diff.periods)]


def _title(diff: PlanDiff, hours: float, old_path: Path, count: int) -> str:
    span = f"the {hours:g} hours from {diff.start:%Y-%m-%d %H:%M} UTC"
    if not count:
        return f"no change against {old_path.name} over {span}"
    return f"{count} change{'s' * (count != 1)} against {old_path.name} over {span}"


def _text(title: str, rows: Iterable[Row]) -> list[str]:
    """The title, then each flow and its changes: change, rule, old ⇒ new."""
    rows = list(rows)
    lines = [title]
    widths = [max((len(row[column]) for row in rows), default=0) for column in (1, 2)]
    flow = None
    for row in rows:
        if row[0] != flow:
            flow = row[0]
            lines.append(flow)
        lines.append(f"  {row[1]:<{widths[0]}}  {row[2]:<{widths[1]}}  {row[3]}  ⇒  {row[4]}")
    return lines


def _markdown(title: str, rows: Iterable[Row]) -> list[str]:
    rows = list(rows)
    lines = [f"**flowtui plan**: {title}"]
    if rows:
        lines += ["", "| flow | change | rule | old | new |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
