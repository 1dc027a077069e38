"""`flowtui tui` (and bare `flowtui`): the interactive app. Textual is imported only when
the command runs, so the rest of the CLI starts without it."""

from __future__ import annotations

import click

from flowtui.cli.check import load_or_exit
from flowtui.cli.context import CliContext, fail
from flowtui.store import StoreError


@click.command("tui")
@click.option("--read-only", is_flag=True, help="Refuse every change (also: read_only = true).")
@click.option(
    "--scheduler/--no-scheduler",
    default=None,
    help="Run the scheduler inside the app (default: yes, except in team mode, where"
    " --scheduler makes the app one more candidate for the lease).",
)
@click.pass_obj
def tui(obj: CliContext, read_only: bool, scheduler: bool | None) -> None:
    """Open the live table of every flow; the scheduler runs inside when it can."""
    from flowtui.tui.launch import run_app

    config = load_or_exit(obj)
    state_dir = obj.resolved_state_dir(config.settings.state_dir)
    try:
        run_app(obj.resolved_config_path(), state_dir, read_only=read_only, scheduler=scheduler)
    except StoreError as exc:
        fail(str(exc))
