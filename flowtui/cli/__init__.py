"""The `flowtui` command line (click). Each command lives in its own module here."""

from __future__ import annotations

from pathlib import Path

import click

from flowtui.cli.audit import audit
from flowtui.cli.calendar import calendar
from flowtui.cli.check import check
from flowtui.cli.context import CliContext, fail
from flowtui.cli.daemon import daemon
from flowtui.cli.db import db
from flowtui.cli.demo import demo
from flowtui.cli.emulate import emulate
from flowtui.cli.flows import COMMANDS as FLOW_COMMANDS
from flowtui.cli.override import override
from flowtui.cli.plan import plan
from flowtui.cli.schema import schema
from flowtui.cli.tui import tui
from flowtui.store import StoreError


class _Main(click.Group):
    """The command group; a store or state-directory failure that a command did not
    handle itself is still one line and exit 2 (SPEC §3), never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            fail(str(exc))


@click.group(
    cls=_Main,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="schedules.toml to use (default: ./schedules.toml, then the user config directory).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the audit store, lock and rotated tokens live (default: user state directory).",
)
@click.version_option(package_name="flowtui")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, state_dir: Path | None) -> None:
    """flowtui: switch automation flows on Diga, GASSAPI, Runflow and Bitrix24.

    Without a command it opens the app (`flowtui tui`)."""
    ctx.obj = CliContext(config_path=config_path, state_dir=state_dir)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


for command in FLOW_COMMANDS:
    main.add_command(command)
main.add_command(check)
main.add_command(plan)
main.add_command(emulate)
main.add_command(daemon)
main.add_command(audit)
main.add_command(override)
main.add_command(tui)
main.add_command(demo)
main.add_command(schema)
main.add_command(calendar)
main.add_command(db)
