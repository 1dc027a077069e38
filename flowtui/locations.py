"""Where flowtui keeps its files: the one place that resolves the configuration file and the
state directory (audit store, scheduler lock, rotated tokens)."""

from __future__ import annotations

from pathlib import Path

APP_NAME = "flowtui"
CONFIG_NAME = "schedules.toml"


def default_state_dir() -> Path:
    """The platform's state directory for flowtui (e.g. ~/.local/state/flowtui)."""
    import platformdirs  # (with tempfile and shutil: only when a default is needed)

    return Path(platformdirs.user_state_dir(APP_NAME))


def default_config_path() -> Path:
    """schedules.toml in the platform's configuration directory."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_NAME


def config_path(given: Path | None) -> Path:
    """--config, else ./schedules.toml when it exists, else the platform config directory's."""
    if given is not None:
        return given
    local = Path.cwd() / CONFIG_NAME
    return local if local.exists() else default_config_path()


def state_dir(given: Path | None, configured: Path | None = None) -> Path:
    """--state-dir, else the configuration's `state_dir`, else the platform's."""
    if given is not None:
        return given
    return Path(configured) if configured is not None else default_state_dir()
