"""`flowtui check`: validate schedules.toml and the secrets it names; exit 2 on problems."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NoReturn

import click

from flowtui.checks import check_text
from flowtui.cli.context import EXIT_USAGE, CliContext
from flowtui.config import Config, ConfigError, ConfigProblem, load_config, read_config_text
from flowtui.ops.webhook_urls import notify_problems


def report_and_exit(problems: Iterable[ConfigProblem]) -> NoReturn:
    """Print each problem as `file:line:column: error: …` on stderr and exit 2."""
    for problem in problems:
        click.echo(str(problem), err=True)
    raise SystemExit(EXIT_USAGE)


def load_or_exit(cli: CliContext) -> Config:
    """The configuration, or every located problem printed and exit 2."""
    try:
        return load_config(cli.resolved_config_path())
    except ConfigError as error:
        report_and_exit(error.problems)


@click.command()
@click.pass_obj
def check(cli: CliContext) -> None:
    """Validate the configuration: every problem located, exit 2 if there is any."""
    path = cli.resolved_config_path()
    try:
        config, problems = check_text(read_config_text(path), str(path), os.environ)
    except ConfigError as error:
        report_and_exit(error.problems)
    problems = sorted(
        problems + notify_problems(config, os.environ), key=lambda p: (p.line, p.column)
    )
    if problems:
        report_and_exit(problems)
    click.echo(f"ok: {len(config.accounts)} accounts, {len(config.rules)} rules")
