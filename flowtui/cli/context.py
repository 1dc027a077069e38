"""State shared by all commands, and the one way they fail: one line on stderr, an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from flowtui import locations

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

EXIT_OK = 0
EXIT_CHANGE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


@dataclass(frozen=True)
class CliContext:
    config_path: Path | None
    state_dir: Path | None

    def resolved_config_path(self) -> Path:
        """--config, else ./schedules.toml, else the platform config directory."""
        return locations.config_path(self.config_path)

    def zone(self) -> ZoneInfo:
        """settings.timezone of the configuration, for times typed without an offset (UTC
        when the configuration cannot be read: the command that needs it says why)."""
        from zoneinfo import ZoneInfo

        from flowtui.config import ConfigError, load_config  # (pydantic: only when needed)

        try:
            return ZoneInfo(load_config(self.resolved_config_path()).settings.timezone)
        except ConfigError:
            return ZoneInfo("UTC")

    def resolved_state_dir(self, configured: Path | None = None) -> Path:
        """--state-dir, else the configuration's `state_dir` (`configured`), else the
        platform state directory."""
        return locations.state_dir(self.state_dir, configured)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear line to stderr and exit; used for every expected failure."""
    click.echo(f"flowtui: error: {message}", err=True)
    raise SystemExit(code)
