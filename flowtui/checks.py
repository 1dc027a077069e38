"""`flowtui check` without the command line: every problem of a schedules.toml in one run
(SPEC §2) — syntax (alone: it hides the rest), schema, references, `[keys]`, the checks
across rules, and optionally unset secret variables — each at its line and column. The
app's rule editor runs the same checks before it writes. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from flowtui.config import Config, ConfigError, ConfigProblem, examine
from flowtui.keymap import key_problems
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


def check_text(
    text: str, filename: str, environ: Mapping[str, str] | None = None
) -> tuple[Config, list[ConfigProblem]]:
    """The configuration (only its valid parts when there are problems) and every problem,
    sorted by position; secrets only when `environ` is given. ConfigError for a TOML
    syntax error."""
    config, problems = examine(text, filename)
    problems += [config.problem(*located) for located in key_problems(config.keys)]
    problems += conflicts(config)
    if environ is not None:
        problems += missing_secrets(config, environ)
    return config, sorted(problems, key=lambda problem: (problem.line, problem.column))


def checked(text: str, filename: str) -> Config:
    """The configuration of `text` if it passes every check but the secrets one;
    ConfigError listing every problem otherwise."""
    config, problems = check_text(text, filename)
    if problems:
        raise ConfigError(problems)
    return config
