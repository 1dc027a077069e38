"""`flowtui daemon`: the headless scheduler; logs to stderr, one line per engine event."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

import click

from flowtui import logs
from flowtui.cli.check import report_and_exit
from flowtui.cli.context import (
    EXIT_CHANGE_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    CliContext,
    fail,
)
from flowtui.config import ConfigError
from flowtui.engine.daemon import Scheduler, install_signal_handlers
from flowtui.engine.events import EventBus
from flowtui.engine.lock import LockHeld
from flowtui.engine.logprinter import LogPrinter
from flowtui.engine.reconcile import Action, Report
from flowtui.store import StoreError

if TYPE_CHECKING:
    from flowtui.ops.operations import Operations


def _print_plan(report: Report) -> None:
    """Dry run: what a pass would change, on stdout."""
    for outcome in report.outcomes:
        if outcome.action is Action.WOULD_CHANGE:
            click.echo(
                f"{outcome.flow}  would change: {outcome.before} → {outcome.desired}"
                f"  [{outcome.rule}: {outcome.reason}]"
            )
        elif outcome.failed:
            click.echo(f"{outcome.flow}  cannot read: {outcome.error}")


async def _serve(
    scheduler: Scheduler, printer: LogPrinter, once: bool, ops: Operations | None
) -> Report | None:
    printing = asyncio.create_task(printer.run())
    if ops is not None:
        ops.start()
    try:
        if once:
            try:
                return await scheduler.open()
            finally:
                await scheduler.close()
        stop = asyncio.Event()
        install_signal_handlers(scheduler, stop)
        await scheduler.run(stop)
        return None
    finally:
        if ops is not None:
            await ops.aclose()
        printing.cancel()
        await asyncio.gather(printing, return_exceptions=True)


def _operations(
    scheduler: Scheduler, http_text: str | None, once: bool, log_format: str
) -> Operations | None:
    """Metrics and health with --http, notifications when running as a service."""
    if http_text is None and once:
        return None
    # imported here: a plain `--once` pass has no use for the metrics server or notifiers
    from flowtui.ops.http_server import parse_address
    from flowtui.ops.operations import Operations

    try:
        http = None if http_text is None else parse_address(http_text)
    except ValueError as error:
        fail(f"--http {error}")
    try:
        ops = Operations(scheduler, http=http, notify=not once)
    except OSError as error:
        fail(f"--http {http_text}: cannot listen there ({error.strerror or error})")
    if ops.server is not None:
        what = "/metrics, /healthz and /readyz"
        if log_format == "json":
            click.echo(json.dumps({"event": "http_serving", "url": ops.server.url}), err=True)
        else:
            click.echo(f"serving {what} on {ops.server.url}", err=True)
    return ops


@click.command()
@click.option("--once", is_flag=True, help="Converge once and exit (1 if a change failed).")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option(
    "--log-format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="Log lines on stderr: readable text or one JSON object per line (events, warnings"
    " and library messages alike).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning"]),
    default="warning",
    show_default=True,
    help="Messages beside the engine's events; debug adds tracebacks of unexpected errors.",
)
@click.option(
    "--http",
    "http",
    metavar="ADDR",
    default=None,
    help="Serve /metrics, /healthz and /readyz on ADDR, e.g. 127.0.0.1:9464 (default: off).",
)
@click.pass_obj
def daemon(
    cli: CliContext, once: bool, dry_run: bool, log_format: str, log_level: str, http: str | None
) -> None:
    """Run the scheduler headless: converge now, then at every transition and resync.

    SIGHUP reloads the configuration (a file that fails `check` keeps the old rules);
    SIGTERM or SIGINT stop it after in-flight changes are verified. Exit 3 when another
    scheduler holds the lock for the state directory. `[[notify]]` webhooks hear of
    incidents unless --once."""
    logs.configure(log_format, log_level)
    bus = EventBus(maxsize=10_000)
    printer = LogPrinter(bus, sys.stderr, log_format)
    scheduler = Scheduler(cli.resolved_config_path(), cli.state_dir, bus, dry_run=dry_run)
    ops = _operations(scheduler, http, once, log_format)
    try:
        report = asyncio.run(_serve(scheduler, printer, once, ops))
    except ConfigError as error:
        report_and_exit(error.problems)
    except LockHeld as held:
        fail(str(held), EXIT_LOCKED)
    except StoreError as error:
        fail(str(error), EXIT_USAGE)
    except KeyboardInterrupt:  # only --once has no signal handlers
        fail("interrupted; a change in flight is re-verified at next start", EXIT_CHANGE_FAILED)
    if report is None:
        raise SystemExit(EXIT_OK)
    if scheduler.dry_run:
        _print_plan(report)
    raise SystemExit(EXIT_CHANGE_FAILED if report.failed else EXIT_OK)
