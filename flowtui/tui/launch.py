"""Build the app for a configuration file and state directory (used by `flowtui tui`,
`flowtui demo`, the screenshot script and tests)."""

from __future__ import annotations

from pathlib import Path

from flowtui.config import load_config
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
    With `scheduler`, the app runs the scheduler in-process when it can take the lock."""
    config = load_config(config_path)
    control = Control(
        config,
        config_path=config_path,
        state_dir=state_dir,
        env=env,
        clock=clock,
        read_only=read_only,
    )
    link = None
    if scheduler:
        retry = env.retry if env else None
        link = SchedulerLink(
            config_path, state_dir, clock=clock, retry=retry, read_only=control.read_only
        )
    return FlowtuiApp(control, link)
