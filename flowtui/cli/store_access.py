"""How commands reach the state store: which one (team mode's PostgreSQL or the state
directory's SQLite), opened for writing or — `audit`, `plan` — only for reading, which also
works on a read-only copy (a backup). Every failure is one line and exit 2."""

from __future__ import annotations

from flowtui.cli.context import CliContext, fail
from flowtui.config import Config, ConfigError, load_config
from flowtui.store import Store, StoreError, StoreTarget, open_store, store_target


def target_of(cli: CliContext, config: Config | None = None) -> StoreTarget:
    """--state-dir, else the config's `state_dir`, else the platform state directory; and
    the config's `state_url_env` for team mode. Without a readable config: the directory."""
    if config is None:
        try:
            config = load_config(cli.resolved_config_path())
        except ConfigError:
            config = None
    settings = config.settings if config is not None else None
    configured = settings.state_dir if settings else None
    state_dir = cli.resolved_state_dir(configured)
    try:
        return store_target(settings, state_dir)
    except StoreError as exc:
        fail(str(exc))


def open_writable(target: StoreTarget, suffix: str = "") -> Store:
    try:
        return open_store(target)
    except StoreError as exc:
        fail(f"{exc}{suffix}")


def open_readable(target: StoreTarget) -> Store | None:
    """The store read-only, or None when none was ever created (nothing to read yet)."""
    if not target.exists():
        return None
    try:
        return open_store(target, read_only=True)
    except StoreError as exc:
        fail(str(exc))
