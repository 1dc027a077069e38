"""Injected faults, the request log and the lost-answer fault (applied, never answered)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from polling import wait_for

SERVER_ERRORS = {
    "diga": (503, "error_code", "WORKFLOW_SERVICE_UNAVAILABLE"),
    "gassapi": (500, "message", "Internal server error"),
    "runflow": (503, "code", "SERVICE_UNAVAILABLE"),
    "bitrix24": (500, "error", "INTERNAL_SERVER_ERROR"),
}


def read_request(emu, platform: str) -> tuple[str, str, dict]:
    """(method, url, kwargs) of one authorised read on `platform`."""
    bearer = {"Authorization": f"Bearer {emu.token}"}
    return {
        "diga": ("GET", f"{emu.diga_url}/v1/workflow/", {"headers": bearer}),
        "gassapi": ("GET", emu.gassapi_url, {"params": {"act": "projects"}, "headers": bearer}),
        "runflow": ("GET", f"{emu.runflow_url}/v1/flow-summaries", {"headers": bearer}),
        "bitrix24": (
            "POST",
            f"{emu.bitrix24_webhook_url}tasks.flow.Flow.get",
            {"json": {"flowId": 517}},
        ),
    }[platform]


@pytest.mark.parametrize("platform", sorted(SERVER_ERRORS))
def test_burst_of_5xx_then_normal(emu, platform) -> None:
    emu.set_fault(platform, burst_5xx=2)
    method, url, kwargs = read_request(emu, platform)
    status, field, value = SERVER_ERRORS[platform]
    for _ in range(2):
        response = httpx.request(method, url, **kwargs)
        assert response.status_code == status
        assert response.json()[field] == value
    assert httpx.request(method, url, **kwargs).status_code == 200
    assert emu.set_fault(platform)["burst_5xx"] == 0


def test_error_rate_is_a_share_from_a_seeded_rng(emu) -> None:
    method, url, kwargs = read_request(emu, "diga")

    def pattern() -> list[int]:
        emu.reset(flows=20, seed=4)
        emu.set_fault("diga", error_rate=0.5)
        with httpx.Client() as client:
            return [client.request(method, url, **kwargs).status_code for _ in range(30)]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first


def test_latency(emu) -> None:
    emu.set_fault("runflow", latency_ms=150)
    method, url, kwargs = read_request(emu, "runflow")
    started = time.perf_counter()
    assert httpx.request(method, url, **kwargs).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_drop_after_apply_changes_state_but_loses_the_answer(emu) -> None:
    flow = next(
        f for f in emu.state("diga")["flows"] if f["published"] and f["status"] == "DISABLED"
    )
    emu.set_fault("diga", drop_after_apply=1)
    url = f"{emu.diga_url}/v1/workflow/{flow['id']}/status"
    headers = {"Authorization": f"Bearer {emu.token}"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.patch(url, json={"status": "ENABLED"}, headers=headers, timeout=0.3)
    assert next(f for f in emu.state("diga")["flows"] if f["id"] == flow["id"])["status"] == (
        "ENABLED"
    )
    assert emu.requests("diga")[-1]["dropped"] is True
    again = httpx.patch(url, json={"status": "DISABLED"}, headers=headers, timeout=5)
    assert again.json()["status"] == "DISABLED"


def test_reads_are_not_dropped(emu) -> None:
    emu.set_fault("bitrix24", drop_after_apply=1)
    method, url, kwargs = read_request(emu, "bitrix24")
    assert httpx.request(method, url, timeout=5, **kwargs).status_code == 200
    flow = emu.state("bitrix24")["flows"][0]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{emu.bitrix24_webhook_url}batch",
            json={"cmd": [f"tasks.flow.Flow.activate?flowId={flow['id']}"]},
            timeout=0.3,
        )
    assert emu.state("bitrix24")["flows"][0]["active"] is (not flow["active"])


def test_reset_answers_a_held_request_with_a_5xx(emu) -> None:
    flow = emu.state("diga")["flows"][0]
    emu.set_fault("diga", drop_after_apply=1)
    url = f"{emu.diga_url}/v1/workflow/{flow['id']}/publish"
    headers = {"Authorization": f"Bearer {emu.token}"}
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(httpx.post, url, headers=headers, timeout=10)
        wait_for(lambda: any(e["dropped"] for e in emu.requests("diga")), "the held request", 5)
        emu.reset()
        assert waiting.result().status_code == 503


def test_reset_clears_faults(emu) -> None:
    emu.set_fault("gassapi", latency_ms=5, other_error_shape_rate=0.3, token_ttl_s=5)
    emu.reset()
    faults = emu.http.get("/faults").json()
    assert faults["gassapi"]["latency_ms"] == 0
    assert faults["gassapi"]["token_ttl_s"] == 900
    assert faults["bitrix24"]["bucket_threshold"] == 50
    assert faults["bitrix24"]["bucket_drain_per_s"] == 2
    assert faults["runflow"]["rate_limit_per_s"] is None


@pytest.mark.parametrize(
    ("platform", "body"),
    [
        ("diga", {"other_error_shape_rate": 0.5}),
        ("diga", {"error_rate": 2}),
        ("diga", {"burst_5xx": 1.5}),
        ("runflow", {"latency_ms": "slow"}),
        ("bitrix24", {"bucket_threshold": -1}),
    ],
)
def test_bad_fault_fields_are_422(emu, platform, body) -> None:
    response = emu.http.put(f"/faults/{platform}", json=body)
    assert response.status_code == 422
    assert "error" in response.json()


def test_request_log_and_its_redaction(emu) -> None:
    emu.clear_requests()
    httpx.post(f"{emu.bitrix24_webhook_url}tasks.flow.Flow.get", json={"flowId": 517})
    httpx.get(f"{emu.bitrix24_url}/rest/tasks.flow.Flow.get", params={"auth": emu.token})
    entries = emu.requests()
    assert [e["platform"] for e in entries] == ["bitrix24", "bitrix24"]
    assert entries[0]["path"] == "/bitrix24/rest/1/***/tasks.flow.Flow.get"
    assert entries[1]["query"] == "auth=***"
    assert all(emu.token not in str(entry) for entry in entries)
    assert {"method", "path", "platform", "status", "duration_ms"} <= set(entries[0])
    assert entries[0]["status"] == 200
    assert emu.requests("diga") == []
    emu.clear_requests()
    assert emu.requests() == []


def test_expire_tokens_is_422_where_keys_do_not_expire(emu) -> None:
    for platform in ("diga", "runflow"):
        assert emu.http.post(f"/{platform}/expire-tokens").status_code == 422
