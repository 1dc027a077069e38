"""`flowtui plan`: the coming transitions of the rules, without touching any platform.

Sorted by instant: the UTC time first, each rule's local time beside it. `--timeline`
draws the app's week picture (flowtui.timeline) in the terminal. A plan of a thousand rules
over a week is tens of thousands of lines, so each line is formatted from pieces computed
once (an instant in a zone, a rule's or flow's JSON string); the state store and the engine
are imported only when a store exists.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from flowtui import typed_time
from flowtui.cli.check import load_or_exit
from flowtui.cli.context import CliContext, fail
from flowtui.config import Config
from flowtui.rules import Override, PriorStates, Row, Schedule, Target, Transition


def _start(text: str | None, zone: ZoneInfo) -> datetime:
    try:
        return typed_time.start(text, datetime.now(UTC), zone)
    except ValueError as exc:
        fail(f"--from {exc}")


def _recorded(
    cli: CliContext, config: Config, begin: datetime
) -> tuple[PriorStates, list[Override]]:
    """Prior states and overrides from the state store, if there is one (never created
    here: `plan` only reads)."""
    from flowtui.cli.store_access import open_readable, target_of
    from flowtui.store import StoreError

    store = open_readable(target_of(cli, config))
    if store is None:
        return {}, []
    from flowtui.engine.reconcile import overrides_from

    try:
        priors = {
            rule.name: store.prior_states(rule.name)
            for rule in config.maintenance
            if rule.after == "restore"
        }
        return priors, overrides_from(store, begin)
    except StoreError as error:
        fail(f"cannot read the state store: {error}")
    finally:
        store.close()


def _state(value: Target) -> str:
    return "untouched" if value is None else str(value)


ZoneOf = Callable[[str], ZoneInfo]
AGAINST_FORMATS = ("text", "markdown", "json")


def _zones(config: Config) -> ZoneOf:
    """Each rule's zone by rule name (looked up once, not per transition); the settings'
    zone for overrides."""
    by_name = {rule.name: config.zone(rule) for rule in reversed(config.rules)}
    default = ZoneInfo(config.settings.timezone)
    return lambda rule: by_name.get(rule, default)


@cache
def _quoted(text: str) -> str:
    """`text` as json.dumps writes it; printable ASCII without quotes or backslashes (every
    flow and rule name in practice) needs no escaping, so no call to json.dumps."""
    plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    return f'"{text}"' if plain else json.dumps(text)


@cache
def _change(old: Target, new: Target) -> str:
    return f'"from": "{_state(old)}", "to": "{_state(new)}"}}'


def json_lines(zone_of: ZoneOf, batches: Iterable[tuple[datetime, list[Row]]]) -> Iterator[str]:
    """One JSON object per transition: at, local, timezone, rule, flow, from, to (what
    json.dumps writes, key order and spacing included). What rows share is written once:
    an instant in each zone, a rule's keys at an instant, a flow's name."""
    flows: dict[int, str] = {}
    for at, rows in batches:
        when: dict[ZoneInfo, str] = {}
        rule = head = change = old_state = new_state = None
        for name, place, flow, old, new in rows:
            if name is not rule:
                zone = zone_of(name)
                if (prefix := when.get(zone)) is None:
                    prefix = when[zone] = _json_when(at, zone)
                rule, head = name, f'{prefix}"rule": {_quoted(name)}, '
            if old is not old_state or new is not new_state:
                old_state, new_state, change = old, new, _change(old, new)
            if (quoted := flows.get(place)) is None:
                quoted = flows[place] = f'"flow": {_quoted(str(flow))}, '
            yield head + quoted + change  # type: ignore[operator]


def _json_when(at: datetime, zone: ZoneInfo) -> str:
    """The keys of an instant in a zone: at, local, timezone."""
    local = at.astimezone(zone)
    return (
        f'{{"at": "{at.isoformat()}", "local": "{local.isoformat()}", '
        f'"timezone": {_quoted(str(local.tzinfo))}, '
    )


@cache
def _when(at: datetime, zone: ZoneInfo) -> tuple[str, str]:
    return at.strftime("%Y-%m-%d %H:%M"), at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def table_lines(zone_of: ZoneOf, transitions: list[Transition]) -> list[str]:
    """A table in instant order: UTC first, the rule's local time beside it."""
    header = ("UTC", "rule's local time", "rule", "flow", "change")
    rows = [header]
    for transition in transitions:
        utc, local = _when(transition.at, zone_of(transition.rule))
        change = f"{_state(transition.from_state)} → {_state(transition.to_state)}"
        rows.append((utc, local, transition.rule, str(transition.flow), change))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _timeline(config: Config, begin: datetime) -> None:
    from rich.console import Console

    from flowtui.timeline import render_timeline

    width = shutil.get_terminal_size((120, 24)).columns
    Console(width=width, highlight=False).print(render_timeline(config, begin, width - 1))


@click.command()
@click.option("--from", "start", metavar="T", help="Start (ISO 8601; default now).")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="How far ahead to look.  [default: 48; 168 with --against]",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transition and line.")
@click.option("--timeline", is_flag=True, help="Draw the week from --from, as the app does.")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help="What changing OLD.toml into the config does (exit 1 when something changes;"
    " with --json, one JSON document).",
    metavar="OLD.toml",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(AGAINST_FORMATS),
    help="With --against: text (default), markdown (a table for a review) or json.",
)
@click.pass_obj
def plan(
    cli: CliContext,
    start: str | None,
    hours: float | None,
    as_json: bool,
    timeline: bool,
    against: Path | None,
    output: str | None,
) -> None:
    """Upcoming transitions: when (UTC, and the rule's local time), rule, flow, from → to.
    `account:*` stays a wildcard. Overrides and recorded prior states in the state store
    are taken into account."""
    if timeline and (as_json or against is not None):
        fail("--timeline draws a picture; it takes no --json or --against")
    if against is not None:
        from flowtui.cli.plan_against import plan_against  # the comparison's code, only here

        output = "json" if as_json else output or "text"
        plan_against(cli, against, lambda zone: _start(start, zone), hours or 168.0, output)
    if output is not None:
        fail("--format applies to --against (plain plan has --json)")
    hours = hours or 48.0
    config = load_or_exit(cli)
    begin = _start(start, ZoneInfo(config.settings.timezone))
    if timeline:
        _timeline(config, begin)
        return
    priors, overrides = _recorded(cli, config, begin)
    schedule, finish = Schedule(config), begin + timedelta(hours=hours)
    zone_of = _zones(config)
    if as_json:
        rows = schedule.transition_rows(begin, finish, priors, overrides)
        text = "\n".join(json_lines(zone_of, rows))
        if text:
            click.echo(text)
        return
    found = schedule.transitions(begin, finish, priors, overrides)
    if not found:
        click.echo(f"no transitions in the {hours:g} hours from {begin:%Y-%m-%d %H:%M} UTC")
    else:
        click.echo("\n".join(table_lines(zone_of, found)))
