"""The `flowtui` command line (click). Each command lives in its own module here, imported
only when it runs (flowtui.cli.lazy): start-up pays for what the command uses."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flowtui.cli.context import CliContext, fail
from flowtui.cli.examples import add_example
from flowtui.cli.lazy import LazyCommand, LazyGroup

_CONVERGE = "(converge: change only what differs, verify)."
COMMANDS = {
    "ls": LazyCommand("flowtui.cli.flows", "ls", "List flows and their live state."),
    "enable": LazyCommand("flowtui.cli.flows", "enable", f"Enable flows {_CONVERGE}"),
    "disable": LazyCommand("flowtui.cli.flows", "disable", f"Disable flows {_CONVERGE}"),
    "toggle": LazyCommand(
        "flowtui.cli.flows", "toggle", "Switch each flow to the opposite of its current state."
    ),
    "publish": LazyCommand(
        "flowtui.cli.flows",
        "publish_command",
        "Publish flows (Diga), so that they can be enabled.",
    ),
    "create": LazyCommand(
        "flowtui.cli.flows",
        "create",
        "Create a flow on ACCOUNT (Diga: a draft to publish later).",
    ),
    "check": LazyCommand(
        "flowtui.cli.check",
        "check",
        "Validate the configuration: every problem located, exit 2 if there is any.",
    ),
    "plan": LazyCommand(
        "flowtui.cli.plan",
        "plan",
        "Upcoming transitions: when (UTC, and the rule's local time), rule, flow, from → to.",
    ),
    "emulate": LazyCommand(
        "flowtui.cli.emulate",
        "emulate",
        "Serve Diga, GASSAPI, Runflow and Bitrix24 stand-ins on HOST:PORT until Ctrl-C.",
    ),
    "daemon": LazyCommand(
        "flowtui.cli.daemon",
        "daemon",
        "Run the scheduler headless: converge now, then at every transition and resync.",
    ),
    "audit": LazyCommand("flowtui.cli.audit", "audit", "Show the audit log, newest first."),
    "override": LazyCommand(
        "flowtui.cli.override",
        "override",
        "Pin flows for a while: the scheduler keeps them at --state until --until, whatever "
        "the rules say.",
    ),
    "tui": LazyCommand(
        "flowtui.cli.tui",
        "tui",
        "Open the live table of every flow; the scheduler runs inside when it can.",
    ),
    "demo": LazyCommand(
        "flowtui.cli.demo",
        "demo",
        "Open the app on the emulator of all four platforms: no account or network needed.",
    ),
    "schema": LazyCommand(
        "flowtui.cli.schema",
        "schema",
        "Print the JSON Schema of schedules.toml (what schedules.schema.json holds).",
    ),
    "notify": LazyCommand(
        "flowtui.cli.notify",
        "notify",
        "Webhook notifications (`[[notify]]` in the configuration).",
    ),
    "db": LazyCommand(
        "flowtui.cli.db",
        "db",
        "The team-mode database: create or migrate its schema, grant roles.",
    ),
    "calendar": LazyCommand(
        "flowtui.cli.calendar",
        "calendar",
        "Print the windows as an iCalendar file (`flowtui calendar > windows.ics`): one event "
        "per maintenance window and per A/B period, times in UTC, stable UIDs so a subscribed "
        "calendar updates instead of duplicating.",
    ),
}


class _Main(LazyGroup):
    """The command group; a store or state-directory failure that a command did not
    handle itself is still one line and exit 2 (SPEC §3), never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # a StoreError exists only once a command imported the store: commands that
            # never touch it (`--help`, `check`) do not pay for importing it here
            records = sys.modules.get("flowtui.store.records")
            if records is not None and isinstance(exc, records.StoreError):
                fail(str(exc))
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            add_example(cmd_name, command)
        return command


@click.group(
    cls=_Main,
    lazy=COMMANDS,
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
    from flowtui import logs  # (not for `--help`, which ends before this runs)

    logs.configure()  # warnings as one line each on stderr; `daemon` picks its own format
    ctx.obj = CliContext(config_path=config_path, state_dir=state_dir)
    if ctx.invoked_subcommand is None:
        tui = main.get_command(ctx, "tui")
        assert tui is not None
        ctx.invoke(tui)
