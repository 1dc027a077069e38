"""Build the app for a configuration file and state directory (used by `flowtui tui`,
`flowtui demo`, the screenshot script and tests)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flowtui.config import load_config
from flowtui.providers.clients import AccountClients
from flowtui.providers.registry import Environment
from flowtui.store import store_target
from flowtui.tui.app import FlowtuiApp
from flowtui.tui.control import Clock, Control, utc_now
from flowtui.tui.scheduler_link import SchedulerLink


def build_app(
    config_path: Path,
    state_dir: Path,
    *,
    read_only: bool = False,
    clock: Clock = utc_now,
    env: Environment | None = None,
    scheduler: bool | None = None,
) -> FlowtuiApp:
    """The app on `config_path`; ConfigError (every problem located) when it is invalid,
    StoreError when team mode's URL variable is unset or malformed.
    With `scheduler` the app runs the scheduler in-process: with the state directory's lock
    when it can take it, or in team mode (SPEC §8) as one more candidate for the lease.
    None: yes outside team mode, no in team mode (`flowtui tui --scheduler`). The app and
    its scheduler share one client stack per account."""
    config = load_config(config_path)
    base = env or Environment(state_dir, max_response=config.settings.max_response)
    target = store_target(config.settings, state_dir, base.env)
    env = replace(base, state_dir=base.state_dir or state_dir, state_url=target.url)
    clients = AccountClients(env, config.accounts)
    control = Control(
        config,
        config_path=config_path,
        state_dir=state_dir,
        clients=clients,
        clock=clock,
        read_only=read_only,
        target=target,
    )
    link = None
    if scheduler if scheduler is not None else not target.team:
        link = SchedulerLink(
            config_path,
            state_dir,
            clients=clients,
            clock=clock,
            read_only=control.read_only,
            team=target.team,
        )
    team = None
    if target.team:
        from flowtui.tui.team_link import TeamLink  # psycopg only in team mode

        team = TeamLink(control, link)
    return FlowtuiApp(control, link, team)
