"""Build the app for a configuration file and state directory (used by `flowtui tui`,
`flowtui demo`, the screenshot script and tests)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flowtui.config import load_config
from flowtui.providers.clients import AccountClients
from flowtui.providers.registry import Environment
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
    scheduler: bool = True,
) -> FlowtuiApp:
    """The app on `config_path`; ConfigError (every problem located) when it is invalid.
    With `scheduler`, the app runs the scheduler in-process when it can take the lock.
    The app and its scheduler share one client stack per account."""
    config = load_config(config_path)
    limit = config.settings.max_response
    env = (
        replace(env, state_dir=env.state_dir or state_dir)
        if env
        else Environment(state_dir, max_response=limit)
    )
    clients = AccountClients(env, config.accounts)
    control = Control(
        config,
        config_path=config_path,
        state_dir=state_dir,
        clients=clients,
        clock=clock,
        read_only=read_only,
    )
    link = None
    if scheduler:
        link = SchedulerLink(
            config_path, state_dir, clients=clients, clock=clock, read_only=control.read_only
        )
    return FlowtuiApp(control, link)
