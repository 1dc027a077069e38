"""`flowtui check`: validate schedules.toml and the secrets it names; exit 2 on problems."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import NoReturn

import click

from flowtui.cli.context import EXIT_USAGE, CliContext
from flowtui.config import Config, ConfigError, ConfigProblem, load_config
from flowtui.rules import conflicts


def missing_secrets(config: Config, environ: Mapping[str, str]) -> list[ConfigProblem]:
    """One problem per secret variable an account names that is unset or empty."""
    return [
        config.problem(
            ("accounts", name, f"{role}_env"),
            f"environment variable {variable} ({role} of account {name!r}) is not set",
            f"export {variable} before running flowtui",
        )
        for name, account in config.accounts.items()
        for role, variable in account.secret_envs().items()
        if not environ.get(variable)
    ]


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
    config = load_or_exit(cli)
    problems = conflicts(config) + missing_secrets(config, os.environ)
    if problems:
        report_and_exit(problems)
    click.echo(f"ok: {len(config.accounts)} accounts, {len(config.rules)} rules")
