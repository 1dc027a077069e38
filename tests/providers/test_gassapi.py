"""GASSAPI over real HTTP: absolute and toggle-only switching, 409, token refresh, errors."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from flowtui.model import State
from flowtui.providers.base import Conflict, NotFound, Outcome, state_from_flag
from flowtui.providers.registry import Environment, build_provider


def raw(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("gassapi")["flows"]}


def member_flow(emu: Any, active: int) -> str:
    projects = {p["id"] for p in emu.state("gassapi")["projects"] if p["member"]}
    return next(
        i for i, f in raw(emu).items() if f["project_id"] in projects and f["is_active"] == active
    )


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (1, State.ENABLED),
        (0, State.DISABLED),
        ("1", State.ENABLED),
        ("0", State.DISABLED),
        (True, State.ENABLED),
        (False, State.DISABLED),
        (None, State.UNKNOWN),
        ("x", State.UNKNOWN),
    ],
)
def test_is_active_is_coerced(value: Any, state: State) -> None:
    assert state_from_flag(value) is state


async def test_list_covers_every_member_project(emu: Any, connect: Any) -> None:
    flows = await connect("ops").list_flows()
    state = emu.state("gassapi")
    members = {p["id"] for p in state["projects"] if p["member"]}
    expected = {f["id"] for f in state["flows"] if f["project_id"] in members}
    assert {f.ref.flow_id for f in flows} == expected


async def test_exactly_100_rows_warns_of_truncation(
    emu: Any, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emu.reset(flows=4, seed=1, gassapi_big_project=150)
    with caplog.at_level(logging.WARNING, logger="flowtui.providers"):
        await connect("ops").list_flows()
    assert "may be truncated" in caplog.text


@pytest.mark.parametrize("toggle_only", [False, True])
async def test_disable_and_enable_converge(emu: Any, connect: Any, toggle_only: bool) -> None:
    flow_id = member_flow(emu, active=1)
    ops = connect("ops", toggle_only=toggle_only)
    off = await ops.set_state(flow_id, State.DISABLED)
    assert (off.outcome, off.state) == (Outcome.CHANGED, State.DISABLED)
    assert raw(emu)[flow_id]["is_active"] == 0
    assert (await ops.set_state(flow_id, State.DISABLED)).outcome is Outcome.ALREADY
    on = await ops.set_state(flow_id, State.ENABLED)
    assert (on.outcome, raw(emu)[flow_id]["is_active"]) == (Outcome.CHANGED, 1)
    acts = [json.dumps(r["query"]) for r in emu.requests("gassapi") if r["method"] == "PUT"]
    expected = "flow_toggle_active" if toggle_only else "flow_deactivate"
    assert expected in acts[0]


async def test_toggle_only_corrects_a_concurrent_toggle(emu: Any, connect: Any) -> None:
    """Someone disables the flow between our read and our toggle: never left inverted."""
    flow_id = member_flow(emu, active=1)
    ops = connect("ops", toggle_only=True)
    read = ops.get_flow

    async def read_then_someone_toggles(fid: str) -> Any:
        flow = await read(fid)
        emu.set_flow("gassapi", fid, is_active=0)
        return flow

    ops.get_flow = read_then_someone_toggles
    result = await ops.set_state(flow_id, State.DISABLED)
    assert result.state is State.DISABLED
    assert raw(emu)[flow_id]["is_active"] == 0


async def test_running_flow_is_busy_a_transient_failure(emu: Any, connect: Any) -> None:
    flow_id = member_flow(emu, active=1)
    emu.set_flow("gassapi", flow_id, running=True)
    result = await connect("ops").set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, Conflict)
    assert not result.error.permanent
    assert "busy" in str(result.error)
    assert raw(emu)[flow_id]["is_active"] == 1


@pytest.mark.parametrize("other_shape", [0.0, 1.0])
async def test_both_error_shapes_are_understood(emu: Any, connect: Any, other_shape: float) -> None:
    emu.set_fault("gassapi", other_error_shape_rate=other_shape)
    result = await connect("ops").set_state("flow_nope", State.DISABLED)
    assert isinstance(result.error, NotFound)
    assert "Flow not found" in str(result.error)


async def test_expired_token_is_refreshed_and_the_rotation_persisted(
    emu: Any, connect: Any, environment: Environment, state_dir: Path, account_for: Any
) -> None:
    flow_id = member_flow(emu, active=1)
    ops = connect("ops")
    await ops.get_flow(flow_id)
    emu.expire_tokens("gassapi")
    result = await ops.set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.CHANGED
    saved = state_dir / "tokens" / "ops.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    stored = json.loads(saved.read_text())
    assert stored["refresh_token"] != emu.gassapi_refresh_token
    # the next run starts from the stored pair: the seed refresh token is already spent
    emu.expire_tokens("gassapi")
    again = build_provider("ops", account_for("ops"), environment)
    try:
        assert (await again.set_state(flow_id, State.ENABLED)).outcome is Outcome.CHANGED
    finally:
        await again.aclose()
    assert json.loads(saved.read_text())["refresh_token"] != stored["refresh_token"]


async def test_a_pair_another_process_stored_is_used_not_refreshed_again(
    emu: Any, connect: Any
) -> None:
    """Two credential holders on one state directory (as two processes): the second, its
    token rejected, takes the pair the first stored instead of spending a spent token."""
    first, second = connect("ops"), connect("ops")
    flow_id = member_flow(emu, active=1)
    emu.expire_tokens("gassapi")
    await first.get_flow(flow_id)
    assert (await second.get_flow(flow_id)).state is State.ENABLED
    refreshes = [r["status"] for r in emu.requests("gassapi") if "act=refresh" in r["query"]]
    assert refreshes == [200]


async def test_concurrent_401s_refresh_once(emu: Any, connect: Any) -> None:
    ops = connect("ops")
    emu.expire_tokens("gassapi")
    ids = [member_flow(emu, active=1), member_flow(emu, active=0)]
    found = await ops.get_flows(ids * 5)
    assert all(not isinstance(f, Exception) for f in found.values())
    refreshes = [r for r in emu.requests("gassapi") if "act=refresh" in r["query"]]
    assert len(refreshes) == 1


async def test_toggle_only_fight_ends_in_a_clear_failure(emu: Any, connect: Any) -> None:
    """Someone switches the flow back right after each of our toggles: two toggles, then a
    failure that says so — never a reported success."""
    flow_id = member_flow(emu, active=1)
    ops = connect("ops", toggle_only=True)
    send = ops._call

    async def call_then_someone_toggles_back(*args: Any, **kwargs: Any) -> Any:
        data = await send(*args, **kwargs)
        if args[1] == "flow_toggle_active":
            emu.set_flow("gassapi", args[2], is_active=1)
            data = {**data, "is_active": 1}
        return data

    ops._call = call_then_someone_toggles_back
    result = await ops.set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.FAILED
    assert "did not converge" in str(result.error)
    toggles = [r for r in emu.requests("gassapi") if "flow_toggle_active" in r["query"]]
    assert len(toggles) == 2


async def test_token_refresh_survives_a_5xx(emu: Any, connect: Any) -> None:
    flow_id = member_flow(emu, active=1)
    ops = connect("ops")
    refresher = ops._creds._refresher

    async def refresh_behind_a_5xx(token: str) -> Any:
        emu.set_fault("gassapi", burst_5xx=1)
        return await refresher(token)

    ops._creds._refresher = refresh_behind_a_5xx
    emu.expire_tokens("gassapi")
    result = await ops.set_state(flow_id, State.DISABLED)
    assert result.outcome is Outcome.CHANGED
    refreshes = [r["status"] for r in emu.requests("gassapi") if "act=refresh" in r["query"]]
    assert refreshes == [500, 200]
