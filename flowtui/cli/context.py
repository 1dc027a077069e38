"""State shared by all commands, and the one way they fail: one line on stderr, an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
import platformdirs

EXIT_OK = 0
EXIT_CHANGE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

CONFIG_NAME = "schedules.toml"


@dataclass(frozen=True)
class CliContext:
    config_path: Path | None
    state_dir: Path | None

    def resolved_config_path(self) -> Path:
        """--config, else ./schedules.toml, else the platform config directory."""
        if self.config_path is not None:
            return self.config_path
        local = Path.cwd() / CONFIG_NAME
        if local.exists():
            return local
        return Path(platformdirs.user_config_dir("flowtui")) / CONFIG_NAME

    def resolved_state_dir(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir
        return Path(platformdirs.user_state_dir("flowtui"))


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear line to stderr and exit; used for every expected failure."""
    click.echo(f"flowtui: error: {message}", err=True)
    raise SystemExit(code)
