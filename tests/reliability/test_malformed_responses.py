"""A platform answering garbage (fake_platform.py) costs one clear error per flow: the engine
and the CLI keep running, the other account converges, and every change that was sent —
even one applied before its answer broke — has its intent and outcome in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowtui.cli import main
from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.engine.reconcile import Action
from flowtui.model import FlowRef
from flowtui.providers.transport import RetryPolicy
from flowtui.store import SqliteStore

from .fake_platform import FLOW_IDS, GARBAGE, Misbehaving, serve

NOW = datetime(2031, 11, 24, 12, 0, tzinfo=UTC)
BOUND_S = 10.0  # a pass against the worst answers must end well within this
FAKE = [FlowRef("fake", i) for i in FLOW_IDS]
SLOW = ("slow loris",)  # each attempt runs into the transport's deadline
MODES = [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in GARBAGE]


@pytest.fixture
def platform() -> Iterator[tuple[Misbehaving, str]]:
    fake = Misbehaving()
    with serve(fake) as url:
        yield fake, url


def write_config(path: Path, emu: Any, fake_url: str, emulator_flow: str) -> None:
    path.write_text(f"""
[settings]
timezone = "UTC"

[accounts.fake]
kind = "diga"
base_url = "{fake_url}"
token_env = "FAKE_TOKEN"
timeout = "PT0.2S"

[accounts.support]
kind = "diga"
base_url = "{emu.diga_url}"
token_env = "DIGA_TOKEN"
timeout = "PT0.5S"

[[maintenance]]
name = "freeze"
flows = ["fake:*", "support:{emulator_flow}"]
start = {(NOW - timedelta(hours=1)).isoformat()}
end = {(NOW + timedelta(hours=1)).isoformat()}
enforce = true
""")


def env(emu: Any) -> dict[str, str]:
    return {"FAKE_TOKEN": "fake-secret-token", "DIGA_TOKEN": emu.token}


def enabled_diga_flow(emu: Any) -> str:
    flows = emu.state("diga")["flows"]
    return next(f["id"] for f in flows if f["published"] and f["status"] == "ENABLED")


@pytest.mark.parametrize("on", [("read", "write"), ("write",)], ids=["reads", "writes"])
@pytest.mark.parametrize("mode", MODES)
async def test_garbage_costs_one_error_per_flow_and_nothing_unaudited(
    emu: Any, tmp_path: Path, platform: tuple[Misbehaving, str], mode: str, on: tuple[str, ...]
) -> None:
    fake, url = platform
    fake.mode, fake.on = mode, on
    good = enabled_diga_flow(emu)
    config = tmp_path / "schedules.toml"
    write_config(config, emu, url, good)
    state_dir = tmp_path / "state"
    scheduler = Scheduler(
        config, state_dir, None, ManualClock(NOW), env=env(emu), retry=RetryPolicy(scale=0.001)
    )
    try:
        async with asyncio.timeout(BOUND_S):
            report = await scheduler.open()
        by_flow = {o.flow: o for o in report.outcomes}
        assert by_flow[FlowRef("support", good)].action is Action.CHANGED
        for ref in FAKE:
            outcome = by_flow.get(ref)
            if "read" in on:  # with `fake:*` the listing fails: the account's one error
                assert outcome is None
                assert "\n" not in report.account_errors["fake"]
                assert fake.writes == 0
            elif outcome.failed:
                assert outcome.error
                assert "\n" not in outcome.error
                assert len(outcome.error) < 300
            else:
                assert fake.status[ref.flow_id] == "DISABLED"
        store = SqliteStore.in_dir(state_dir)
        try:
            assert store.open_intents() == []
            audited = {r.flow for r in store.audit() if r.event_type == "outcome"}
        finally:
            store.close()
        changed = {ref for ref in FAKE if fake.status[ref.flow_id] == "DISABLED"}
        assert changed <= audited  # nothing applied without its audit row

        fake.on = ()  # the platform heals: the same scheduler converges it
        async with asyncio.timeout(BOUND_S):
            healed = await scheduler.converge_now(NOW + timedelta(minutes=1), "resync")
        assert not healed.failed
        assert set(fake.status.values()) == {"DISABLED"}
    finally:
        await scheduler.close()


@pytest.mark.parametrize("mode", MODES)
def test_cli_change_against_garbage_is_one_line_per_flow(
    emu: Any,
    tmp_path: Path,
    platform: tuple[Misbehaving, str],
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = platform
    fake.mode = mode
    config = tmp_path / "schedules.toml"
    write_config(config, emu, url, enabled_diga_flow(emu))
    for name, value in env(emu).items():
        monkeypatch.setenv(name, value)
    args = ["--config", str(config), "--state-dir", str(tmp_path / "state")]
    result = CliRunner().invoke(main, [*args, "disable", *map(str, FAKE), "--yes"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr
    *lines, summary = [line for line in result.stdout.splitlines() if line]
    assert summary == f"changed 0, already 0, failed {len(FAKE)}"
    assert len(lines) == len(FAKE)
    for ref, line in zip(FAKE, lines, strict=True):
        assert line.startswith(f"{ref}  failed: ")
