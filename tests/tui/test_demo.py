"""`flowtui demo`'s data: all four platforms, the traps, the rules, a populated table.
(How fast it fills is measured where a user meets it: benchmarks/, through a pty.)"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from flowtui.config import load_config
from flowtui.demo import WINDOW_OPENS_IN, demo_environment
from flowtui.emulator.admin_client import EmulatorAdmin
from flowtui.tui.launch import build_app
from tui.helpers import loaded


async def test_demo_opens_a_populated_table_with_traps_and_rules() -> None:
    started = datetime.now(UTC)
    with demo_environment() as demo:
        assert all(os.environ[name] == value for name, value in demo.env.items())
        config = load_config(demo.config_path)
        assert {a.kind for a in config.accounts.values()} == {
            "diga",
            "gassapi",
            "runflow",
            "bitrix24",
        }
        window = config.maintenance[0]
        assert window.start is not None
        assert started + WINDOW_OPENS_IN <= window.start <= started + 2 * WINDOW_OPENS_IN
        assert [rule.name for rule in config.ab_switch] == ["checkout-experiment"]
        base_url = config.accounts["support"].base_url.removesuffix("/diga")  # type: ignore[union-attr]
        admin = EmulatorAdmin(base_url)
        try:
            state = admin.state()
        finally:
            admin.close()
        assert sum(not flow["published"] for flow in state["diga"]["flows"]) >= 2
        assert any(flow["running"] for flow in state["gassapi"]["flows"])
        app = build_app(demo.config_path, demo.state_dir)
        async with app.run_test(size=(150, 40)) as pilot:
            await loaded(pilot)
            assert {row.kind for row in app.rows.values()} == {
                "diga",
                "gassapi",
                "runflow",
                "bitrix24",
            }
            assert not app.account_errors
            window_flows = [r for r in app.rows.values() if r.governance.next_change]
            assert any(
                r.governance.next_change.rule == "db-maintenance"  # type: ignore[union-attr]
                and r.governance.next_change.at - started < timedelta(minutes=3)  # type: ignore[union-attr]
                for r in window_flows
            )
    assert not any(name in os.environ for name in demo.env)
