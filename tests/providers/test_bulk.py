"""Bulk convergence across the four platforms, under faults and rate limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flowtui.model import FlowRef, State
from flowtui.providers.base import Outcome, Provider
from flowtui.providers.bulk import converge_many
from flowtui.providers.registry import Environment, build_provider
from flowtui.providers.transport import RetryPolicy

PER_PLATFORM = 50


def targets(emu: Any) -> dict[str, list[str]]:
    """50 settable flows per platform (Runflow: status active/inactive; GASSAPI: member)."""
    state = emu.state()
    members = {p["id"] for p in state["gassapi"]["projects"] if p["member"]}
    return {
        "support": [f["id"] for f in state["diga"]["flows"]][:PER_PLATFORM],
        "ops": [f["id"] for f in state["gassapi"]["flows"] if f["project_id"] in members][
            :PER_PLATFORM
        ],
        "studio": [
            f["id"] for f in state["runflow"]["flows"] if f["status_code"] in ("active", "inactive")
        ][:PER_PLATFORM],
        "crm": [str(f["id"]) for f in state["bitrix24"]["flows"]][:PER_PLATFORM],
    }


def all_disabled(emu: Any, chosen: dict[str, list[str]]) -> dict[str, list[str]]:
    """Flows of `chosen` that the emulator's raw state does NOT show as disabled."""
    state = emu.state()
    on = {
        "support": {f["id"] for f in state["diga"]["flows"] if f["status"] != "DISABLED"},
        "ops": {f["id"] for f in state["gassapi"]["flows"] if f["is_active"] != 0},
        "studio": {f["id"] for f in state["runflow"]["flows"] if f["status_code"] != "inactive"},
        "crm": {str(f["id"]) for f in state["bitrix24"]["flows"] if f["active"] is not False},
    }
    return {account: sorted(set(ids) & on[account]) for account, ids in chosen.items()}


async def test_disabling_200_flows_under_faults_converges_everywhere(
    emu: Any, environment: Environment, account_for: Any
) -> None:
    emu.reset(flows=80, seed=7)
    chosen = targets(emu)
    assert all(len(ids) == PER_PLATFORM for ids in chosen.values())
    for platform in ("diga", "gassapi", "runflow", "bitrix24"):
        emu.set_fault(platform, error_rate=0.2, drop_after_apply=1)
    emu.set_fault("runflow", rate_limit_per_s=40, rate_limit_burst=4, retry_after_s=None)
    emu.set_fault("bitrix24", bucket_threshold=20, bucket_drain_per_s=20)
    env = replace(environment, retry=RetryPolicy(scale=0.1))  # waits 0.05…0.4 s + jitter
    options: dict[str, dict[str, Any]] = {
        "crm": {"flow_ids": chosen["crm"], "rate": 20, "burst": 20}
    }
    providers: dict[str, Provider] = {
        name: build_provider(name, account_for(name, **options.get(name, {})), env)
        for name in chosen
    }
    desired = {FlowRef(a, i): State.DISABLED for a, ids in chosen.items() for i in ids}
    assert len(desired) == 200
    try:
        results = await converge_many(providers, desired)
    finally:
        for provider in providers.values():
            await provider.aclose()
    failed = [f"{r.ref} {r.reason}" for r in results if not r.ok]
    assert failed == []
    assert {r.state for r in results} == {State.DISABLED}
    assert {r.outcome for r in results} == {Outcome.CHANGED, Outcome.ALREADY}
    assert all_disabled(emu, chosen) == {account: [] for account in chosen}
    statuses = {r["status"] for r in emu.requests()}
    assert {500, 503, 429} <= statuses  # the faults really happened
    assert any(r["dropped"] for r in emu.requests())


async def test_one_broken_account_stops_nothing(
    emu: Any, environment: Environment, account_for: Any
) -> None:
    broken = build_provider(
        "support",
        account_for("support").model_copy(update={"base_url": "http://127.0.0.1:9"}),
        environment,
    )
    ops = build_provider("ops", account_for("ops"), environment)
    flow_id = targets(emu)["ops"][0]
    desired = {
        FlowRef("support", "wf_1"): State.DISABLED,
        FlowRef("ops", flow_id): State.DISABLED,
        FlowRef("ghost", "1"): State.DISABLED,
    }
    try:
        results = await converge_many({"support": broken, "ops": ops}, desired)
    finally:
        await broken.aclose()
        await ops.aclose()
    by_account = {r.ref.account: r for r in results}
    assert by_account["ops"].ok
    assert "cannot connect" in str(by_account["support"].error)
    assert "no account named 'ghost'" in str(by_account["ghost"].error)
