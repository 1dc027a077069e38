"""`flowtui demo`: the app on the built-in emulator with sample accounts, flows and rules."""

from __future__ import annotations

import click

from flowtui.cli.context import EXIT_USAGE, fail


@click.command("demo")
@click.option(
    "--flows",
    type=click.IntRange(1, 100_000),
    default=8,
    show_default=True,
    help="Sample flows per platform.",
)
@click.option("--seed", type=click.IntRange(0), default=7, show_default=True, help="Sample data.")
@click.option("--read-only", is_flag=True, help="Refuse every change.")
def demo(flows: int, seed: int, read_only: bool) -> None:
    """Open the app on the emulator of all four platforms: no account or network needed."""
    from flowtui.demo import run_demo

    try:
        run_demo(flows, seed, read_only=read_only)
    except OSError as error:
        fail(f"cannot start the demo: {error.strerror or error}", EXIT_USAGE)
