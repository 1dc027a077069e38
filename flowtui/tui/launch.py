"""Build the app for a configuration file and state directory (used by `flowtui tui`,
`flowtui demo`, the screenshot script and tests).

`run_app` (what `flowtui tui` runs) starts the first read of every account before the
app's own modules are imported: textual and the screens are imported in a thread while
the event loop already waits on the platforms, so the first paint costs the longer of the
two rather than their sum. The read uses the one client stack the app and its scheduler
share (SPEC §3), on the loop the app then runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.config import load_config
from flowtui.providers.clients import AccountClients
from flowtui.providers.registry import Environment
from flowtui.store import store_target
from flowtui.tui.control import Clock, Control, Snapshot, utc_now

if TYPE_CHECKING:
    from flowtui.tui.app import FlowtuiApp


def build_control(
    config_path: Path,
    state_dir: Path,
    *,
    read_only: bool = False,
    clock: Clock = utc_now,
    env: Environment | None = None,
) -> Control:
    """The app's backend on `config_path`; ConfigError (every problem located) when it is
    invalid, StoreError when team mode's URL variable is unset or malformed. One client
    stack per account, for the app and its scheduler."""
    config = load_config(config_path)
    base = env or Environment(state_dir, max_response=config.settings.max_response)
    target = store_target(config.settings, state_dir, base.env)
    env = replace(base, state_dir=base.state_dir or state_dir, state_url=target.url)
    return Control(
        config,
        config_path=config_path,
        state_dir=state_dir,
        clients=AccountClients(env, config.accounts),
        clock=clock,
        read_only=read_only,
        target=target,
    )


def assemble(
    control: Control,
    config_path: Path,
    *,
    scheduler: bool | None = None,
    first_read: Awaitable[Snapshot] | None = None,
) -> FlowtuiApp:
    """The app on `control`. With `scheduler` the app runs the scheduler in-process: with
    the state directory's lock when it can take it, or in team mode (SPEC §8) as one more
    candidate for the lease. None: yes outside team mode, no in team mode (`flowtui tui
    --scheduler`). `first_read`: a read already under way, shown first."""
    from flowtui.tui.app import FlowtuiApp
    from flowtui.tui.scheduler_link import SchedulerLink

    team_mode = control.target.team
    link = None
    if scheduler if scheduler is not None else not team_mode:
        link = SchedulerLink(
            config_path,
            control.state_dir,
            clients=control.clients,
            clock=control.clock,
            read_only=control.read_only,
            team=team_mode,
        )
    team = None
    if team_mode:
        from flowtui.tui.team_link import TeamLink  # psycopg only in team mode

        team = TeamLink(control, link)
    return FlowtuiApp(control, link, team, first_read=first_read)


def build_app(
    config_path: Path,
    state_dir: Path,
    *,
    read_only: bool = False,
    clock: Clock = utc_now,
    env: Environment | None = None,
    scheduler: bool | None = None,
) -> FlowtuiApp:
    """The app on `config_path` (see `build_control` and `assemble`)."""
    control = build_control(config_path, state_dir, read_only=read_only, clock=clock, env=env)
    return assemble(control, config_path, scheduler=scheduler)


def _import_app() -> None:
    import flowtui.tui.app
    import flowtui.tui.scheduler_link  # noqa: F401


async def _run(config_path: Path, state_dir: Path, read_only: bool, scheduler: bool | None) -> None:
    control = build_control(config_path, state_dir, read_only=read_only)
    first_read = asyncio.ensure_future(control.read_all())
    try:
        await asyncio.to_thread(_import_app)
        app = assemble(control, config_path, scheduler=scheduler, first_read=first_read)
        await app.run_async()
    finally:
        if not first_read.done():
            first_read.cancel()


def run_app(
    config_path: Path,
    state_dir: Path,
    *,
    read_only: bool = False,
    scheduler: bool | None = None,
) -> None:
    """`flowtui tui`: the app on `config_path` until the user quits (see the module's
    docstring); ConfigError or StoreError before anything is shown."""
    asyncio.run(_run(config_path, state_dir, read_only, scheduler))
