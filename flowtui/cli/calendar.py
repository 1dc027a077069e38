"""`flowtui calendar`: maintenance windows and A/B periods as an RFC 5545 calendar."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import click

from flowtui.cli.check import load_or_exit
from flowtui.cli.context import CliContext, fail
from flowtui.cli.plan import _start as start_instant
from flowtui.config import did_you_mean
from flowtui.plan_diff import HORIZON_LIMIT


@click.command()
@click.option("--from", "start", metavar="T", help="Start (ISO 8601; default now).")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="How far ahead.",
)
@click.option("--rule", "rule", metavar="NAME", help="Only this rule's windows.")
@click.pass_obj
def calendar(cli: CliContext, start: str | None, days: float, rule: str | None) -> None:
    """Print the windows as an iCalendar file (`flowtui calendar > windows.ics`): one
    event per maintenance window and per A/B period, times in UTC, stable UIDs so a
    subscribed calendar updates instead of duplicating."""
    if timedelta(days=days) > HORIZON_LIMIT:
        fail(f"--days {days:g} is over a year (at most {HORIZON_LIMIT.days}); use --from to move")
    config = load_or_exit(cli)
    names = [candidate.name for candidate in config.rules]
    if rule is not None and rule not in names:
        hint = did_you_mean(rule, names) or f"rules: {', '.join(names) or 'none'}"
        fail(f"no rule named {rule!r} ({hint})")
    # icalendar takes a noticeable time to import; only this command needs it.
    from flowtui.calendar_export import calendar_ics

    begin = start_instant(start, ZoneInfo(config.settings.timezone))
    click.echo(calendar_ics(config, begin, begin + timedelta(days=days), rule), nl=False)
