"""The scheduler embedded in the app: its changes reach the table at once, `P` pauses and
resumes it, and a scheduler held by another process is named in the status bar."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flowtui.engine.lock import SchedulerLock
from flowtui.model import State
from tui.helpers import MakeApp, diga_flows, loaded, pick_diga, wait_for


def window_now(flow_id: str, account: str = "support") -> str:
    """A one-off maintenance window open since a minute ago."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return f"""
[[maintenance]]
name = "open-window"
flows = ["{account}:{flow_id}"]
start = {start.isoformat()}
end = {(start + timedelta(hours=1)).isoformat()}
"""


async def test_a_scheduled_change_appears_in_the_table(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    key = f"support:{flow_id}"
    app = make_app(extra=window_now(flow_id), settings='refresh = "1h"', scheduler=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.rows[key].state is State.DISABLED, "the event")
        assert diga_flows(emu)[flow_id]["status"] == "DISABLED"
        assert app.status.status.scheduler == "running"
        audit = app.control.audit(flow=app.rows[key].ref)
        assert audit[0].changed_by == "scheduler:open-window"


async def test_p_pauses_and_resumes_the_scheduler(make_app: MakeApp) -> None:
    app = make_app(scheduler=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status.status.scheduler == "running", "the start")
        await pilot.press("P")
        await wait_for(pilot, lambda: app.status.status.scheduler == "paused", "pause")
        assert app.scheduler is not None
        assert app.scheduler.scheduler.paused
        await pilot.press("P")
        await wait_for(pilot, lambda: app.status.status.scheduler == "running", "resume")


async def test_a_scheduler_held_elsewhere_is_named(make_app: MakeApp, tmp_path: Path) -> None:
    lock = SchedulerLock(tmp_path / "state")
    lock.acquire()
    try:
        app = make_app(scheduler=True)
        async with app.run_test(size=(160, 40)) as pilot:
            await loaded(pilot)
            held = f"held by pid {os.getpid()}"
            await wait_for(pilot, lambda: app.status.status.scheduler == held, "the holder")
            assert held in str(app.status.render())
            await pilot.press("P")
            await pilot.pause()
            assert any("cannot pause" in n.message for n in app._notifications)
    finally:
        lock.release()


async def test_an_override_takes_effect_at_once(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    key = f"support:{flow_id}"
    app = make_app(settings='refresh = "1h"', scheduler=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status.status.scheduler == "running", "the start")
        app.table.focus()
        app.table.move_cursor(row=app.table.get_row_index(key))
        await pilot.press("o")
        app.screen.query_one("#until").focus()
        await pilot.press("enter")  # the defaults: disabled for 2h
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["status"] == "DISABLED", "it")
        await wait_for(pilot, lambda: app.rows[key].state is State.DISABLED, "the row")
        assert app.control.audit(flow=app.rows[key].ref)[0].changed_by.startswith("scheduler:")


async def test_the_app_and_its_scheduler_share_one_client_per_account(
    emu: Any, make_app: MakeApp
) -> None:
    """Both read GASSAPI with an expired token: one refresh (refresh tokens are single-use),
    and neither side fails."""
    state = emu.state("gassapi")
    member = {project["id"] for project in state["projects"] if project["member"]}
    flow_id = next(flow["id"] for flow in state["flows"] if flow["project_id"] in member)
    app = make_app(extra=window_now(flow_id, "ops"), settings='refresh = "1h"', scheduler=True)
    emu.expire_tokens("gassapi")
    emu.clear_requests()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status.status.scheduler == "running", "the start")
        assert app.scheduler is not None
        report = app.scheduler.scheduler.last_report
        assert report is not None
        assert not any(o.failed for o in report.outcomes)
        assert "ops" not in app.account_errors
        refreshes = [r for r in emu.requests("gassapi") if "act=refresh" in r["query"]]
        assert [r["status"] for r in refreshes] == [200]


async def test_the_app_takes_the_scheduler_over_when_its_holder_goes_away(
    make_app: MakeApp, tmp_path: Path
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(tmp_path / "state"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"held\n"
        app = make_app(scheduler=True)
        async with app.run_test(size=(160, 40)) as pilot:
            await loaded(pilot)
            held = f"held by pid {holder.pid}"
            await wait_for(pilot, lambda: app.status.status.scheduler == held, "the holder")
            holder.kill()  # gone without a word, as after kill -9: the pid file stays behind
            await holder.wait()
            said = f"pid {holder.pid} no longer runs the scheduler: this app runs it now"
            await wait_for(
                pilot, lambda: said in [n.message for n in app._notifications], "the notice"
            )
            assert app.status.status.scheduler == "running"
            assert app.scheduler is not None
            assert app.scheduler.embedded
            await pilot.press("P")
            await wait_for(pilot, lambda: app.status.status.scheduler == "paused", "pause")
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


HOLDER = """
import sys
from pathlib import Path
from flowtui.engine.lock import SchedulerLock
lock = SchedulerLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""
