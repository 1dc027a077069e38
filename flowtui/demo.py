"""`flowtui demo`: the emulator of all four platforms in-process on a free loopback port,
sample accounts, flows and rules in a temporary directory, and the app opened on them.

`prepare_demo` is separate from `run_demo` so that the screenshot script and tests use the
same data: Diga drafts that were never published, a GASSAPI flow stuck running, Bitrix24
flows, a maintenance window that opens a minute after launch, a weekday night window and
an A/B switch.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import tomli_w

from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import RunningEmulator, run_in_thread

DEMO_FLOWS = 8  # per platform
DEMO_SEED = 7
WINDOW_OPENS_IN = timedelta(minutes=1)
WINDOW_LENGTH = timedelta(minutes=10)
ENV = {
    "diga": "FLOWTUI_DEMO_DIGA_KEY",
    "gassapi": "FLOWTUI_DEMO_GASS_TOKEN",
    "gassapi_refresh": "FLOWTUI_DEMO_GASS_REFRESH",
    "runflow": "FLOWTUI_DEMO_RUNFLOW_KEY",
    "bitrix24": "FLOWTUI_DEMO_B24_WEBHOOK",
}


@dataclass(frozen=True)
class Demo:
    """Where the demo's configuration and state live, and the secrets it needs."""

    config_path: Path
    state_dir: Path
    env: Mapping[str, str]


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def demo_config(
    running: RunningEmulator, state: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The demo's schedules.toml as data."""
    diga = [flow["id"] for flow in state["diga"]["flows"]]
    runflow = [flow["id"] for flow in state["runflow"]["flows"]]
    bitrix = [int(flow["id"]) for flow in state["bitrix24"]["flows"]]
    start = _minute(now) + WINDOW_OPENS_IN + timedelta(minutes=1)
    return {
        "settings": {"timezone": "Europe/Berlin", "refresh": "5s", "confirm": True},
        "accounts": {
            "support": {"kind": "diga", "base_url": running.diga_url, "token_env": ENV["diga"]},
            "ops": {
                "kind": "gassapi",
                "base_url": running.gassapi_url,
                "token_env": ENV["gassapi"],
                "refresh_token_env": ENV["gassapi_refresh"],
            },
            "studio": {
                "kind": "runflow",
                "base_url": running.runflow_url,
                "token_env": ENV["runflow"],
                "organization_id": running.runflow_org_id,
            },
            "crm": {"kind": "bitrix24", "webhook_url_env": ENV["bitrix24"], "flow_ids": bitrix},
        },
        "flows": {"checkout_a": f"support:{diga[0]}", "checkout_b": f"studio:{runflow[0]}"},
        "maintenance": [
            {
                "name": "db-maintenance",
                "flows": [f"support:{flow_id}" for flow_id in diga[1:4]] + [f"crm:{bitrix[0]}"],
                "start": start.isoformat(),
                "end": (start + WINDOW_LENGTH).isoformat(),
                "state": "disabled",
                "after": "restore",
            },
            {
                "name": "nightly-batch",
                "flows": ["ops:*"],
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "from": "22:00",
                "to": "06:00",
                "state": "disabled",
                "after": "enabled",
            },
        ],
        "ab_switch": [
            {
                "name": "checkout-experiment",
                "a": ["checkout_a"],
                "b": ["checkout_b"],
                "b_cron": "0 0 * * SAT",
                "b_duration": "48h",
            }
        ],
    }


def _seed_traps(admin: EmulatorAdmin, state: Mapping[str, Any]) -> None:
    """Two never-published Diga drafts and a GASSAPI flow that is running (toggle → 409)."""
    for flow in state["diga"]["flows"][-2:]:
        admin.set_flow("diga", flow["id"], published=False, status="DISABLED")
    member = {p["id"] for p in state["gassapi"]["projects"] if p["member"]}
    running = next(f for f in state["gassapi"]["flows"] if f["project_id"] in member)
    admin.set_flow("gassapi", running["id"], running=True, active=True)


def prepare_demo(running: RunningEmulator, directory: Path, now: datetime) -> Demo:
    """Seed the traps, write the demo schedules.toml and return where everything is."""
    admin = EmulatorAdmin(running.base_url)
    try:
        _seed_traps(admin, admin.state())
        state = admin.state()
    finally:
        admin.close()
    config_path = directory / "schedules.toml"
    config_path.write_text(tomli_w.dumps(demo_config(running, state, now)))
    env = {
        ENV["diga"]: running.token,
        ENV["gassapi"]: running.token,
        ENV["gassapi_refresh"]: running.gassapi_refresh_token,
        ENV["runflow"]: running.token,
        ENV["bitrix24"]: running.bitrix24_webhook_url,
    }
    return Demo(config_path, directory / "state", env)


@contextmanager
def demo_environment(flows: int = DEMO_FLOWS, seed: int = DEMO_SEED) -> Iterator[Demo]:
    """The emulator running and the demo prepared in a temporary directory; the secrets
    are set in this process's environment while it lasts."""
    config = EmulatorConfig(flows=flows, seed=seed, token=secrets.token_urlsafe(18))
    with TemporaryDirectory(prefix="flowtui-demo-") as tmp, run_in_thread(config) as running:
        demo = prepare_demo(running, Path(tmp), datetime.now(UTC))
        saved = {name: os.environ.get(name) for name in demo.env}
        os.environ.update(demo.env)
        try:
            yield demo
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run_demo(flows: int = DEMO_FLOWS, seed: int = DEMO_SEED, read_only: bool = False) -> None:
    """Open the app on the demo until the user quits."""
    from flowtui.tui.launch import run_app

    with demo_environment(flows, seed) as demo:
        run_app(demo.config_path, demo.state_dir, read_only=read_only)
