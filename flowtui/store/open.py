"""Which store a process uses: PostgreSQL when `settings.state_url_env` names a variable
holding a `postgresql://` URL (team mode, SPEC §8), else SQLite in the state directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flowtui.providers.redaction import register_secret
from flowtui.store.records import DEFAULT_RETENTION, Store, StoreError
from flowtui.store.sqlite import SqliteStore, store_exists

URL_SCHEMES = ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True)
class StoreTarget:
    """Where the store lives: a state directory, or a PostgreSQL URL (never printed)."""

    state_dir: Path
    url: str | None = field(default=None, repr=False)
    scheduler: str = "default"
    retention: timedelta = DEFAULT_RETENTION
    lease: timedelta = timedelta(seconds=15)

    @property
    def team(self) -> bool:
        return self.url is not None

    def describe(self) -> str:
        return redact_url(self.url) if self.url is not None else str(self.state_dir)

    def exists(self) -> bool:
        """A shared database always exists (its schema is checked on open); a state
        directory only once a store was created in it."""
        return self.team or store_exists(self.state_dir)


def store_target(
    settings: Any | None, state_dir: Path, env: Mapping[str, str] | None = None
) -> StoreTarget:
    """The target for `settings` (a config's Settings, or None without a readable config).
    A named but unset or malformed URL variable is a StoreError (one line, exit 2)."""
    if settings is None:
        return StoreTarget(state_dir)
    url = None
    if settings.state_url_env:
        url = (os.environ if env is None else env).get(settings.state_url_env)
        if not url:
            raise StoreError(
                f"settings.state_url_env names {settings.state_url_env}, which is not set"
            )
        if urlsplit(url).scheme not in URL_SCHEMES:
            raise StoreError(
                f"{settings.state_url_env} must hold a postgresql:// URL, not {redact_url(url)}"
            )
        register_secret(urlsplit(url).password)
    return StoreTarget(
        state_dir,
        url,
        scheduler=settings.scheduler,
        retention=settings.audit_retention,
        lease=settings.lease,
    )


def open_store(target: StoreTarget, *, read_only: bool = False) -> Store:
    """The store of `target`; `read_only` opens a SQLite copy without writing (a backup)."""
    if target.url is not None:
        from flowtui.store.postgres import PostgresStore  # psycopg only in team mode

        return PostgresStore(target.url, retention=target.retention)
    if read_only:
        return SqliteStore.in_dir(target.state_dir, read_only=True)
    return SqliteStore.in_dir(target.state_dir, retention=target.retention)
