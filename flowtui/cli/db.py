"""`flowtui db upgrade` and `flowtui db grant`: the team-mode PostgreSQL database (SPEC §8)."""

from __future__ import annotations

import click

from flowtui.cli.context import CliContext, fail
from flowtui.cli.store_access import target_of
from flowtui.config import ConfigError, load_config
from flowtui.store import StoreError, StoreTarget


def _team_url(cli: CliContext) -> tuple[StoreTarget, str]:
    try:
        config = load_config(cli.resolved_config_path())
    except ConfigError as exc:
        fail(str(exc))
    target = target_of(cli, config)
    if target.url is None:
        fail(
            "no team-mode database: set [settings] state_url_env to the name of a variable"
            " holding a postgresql:// URL"
        )
    return target, target.url


@click.group(name="db")
def db() -> None:
    """The team-mode database: create or migrate its schema, grant roles."""


@db.command(name="upgrade")
@click.pass_obj
def upgrade_command(cli: CliContext) -> None:
    """Create the flowtui schema, or migrate it to this version's."""
    from flowtui.store.admin import upgrade_database  # psycopg only when it is needed

    target, url = _team_url(cli)
    try:
        before, after = upgrade_database(url)
    except StoreError as exc:
        fail(str(exc))
    if before == after:
        click.echo(f"{target.describe()}: schema already at version {after}")
    else:
        click.echo(f"{target.describe()}: schema upgraded from version {before} to {after}")


@db.command(name="grant")
@click.option("--reader", "reader", metavar="ROLE", help="May read audit, overrides, leases.")
@click.option("--operator", metavar="ROLE", help="May also write overrides and hand changes.")
@click.option("--scheduler", metavar="ROLE", help="May also take the lease and schedule.")
@click.pass_obj
def grant_command(
    cli: CliContext, reader: str | None, operator: str | None, scheduler: str | None
) -> None:
    """Give an existing database role exactly one kind's privileges (enforced by
    PostgreSQL: grants and row-level security)."""
    from flowtui.store.admin import RoleKind, grant  # psycopg only when it is needed

    given: tuple[tuple[RoleKind, str | None], ...] = (
        ("reader", reader),
        ("operator", operator),
        ("scheduler", scheduler),
    )
    chosen = [(kind, role) for kind, role in given if role]
    if len(chosen) != 1:
        fail("give exactly one of --reader ROLE, --operator ROLE, --scheduler ROLE")
    ((kind, role),) = chosen
    target, url = _team_url(cli)
    try:
        grant(url, kind, role)
    except StoreError as exc:
        fail(str(exc))
    click.echo(f"{target.describe()}: role {role} is now a flowtui {kind}")
