"""Bitrix24: flow methods, toggle-only activate, batch rules, leaky bucket, webhook/OAuth."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture
def hook(emu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.bitrix24_webhook_url, timeout=5) as client:
        yield client


def flows(emu) -> list[dict]:
    return emu.state("bitrix24")["flows"]


def test_get_answers_the_flow_and_a_time_block(hook, emu) -> None:
    flow = flows(emu)[0]
    response = hook.post("tasks.flow.Flow.get", json={"flowId": flow["id"]})
    assert response.status_code == 200
    body = response.json()
    assert body["result"]["id"] == flow["id"]
    assert body["result"]["active"] is flow["active"]
    assert "pinned" not in body["result"]
    assert {"start", "finish", "duration", "operating", "operating_reset_at"} <= set(body["time"])


@pytest.mark.parametrize(
    "method", ["tasks.flow.Flow.get.json", "tasks.flow.flow.get", "TASKS.FLOW.FLOW.GET"]
)
def test_method_names_are_case_insensitive(hook, emu, method) -> None:
    flow_id = flows(emu)[0]["id"]
    assert hook.post(method, json={"flowId": flow_id}).json()["result"]["id"] == flow_id


def test_params_as_query_or_form(hook, emu) -> None:
    flow_id = flows(emu)[1]["id"]
    assert hook.get("tasks.flow.Flow.get", params={"flowId": flow_id}).status_code == 200
    by_form = hook.post("tasks.flow.Flow.get", data={"flowId": str(flow_id)})
    assert by_form.json()["result"]["id"] == flow_id


def test_activate_toggles_and_says_only_true(hook, emu) -> None:
    flow = flows(emu)[0]
    for expected in (not flow["active"], flow["active"]):
        answer = hook.post("tasks.flow.Flow.activate", json={"flowId": flow["id"]}).json()
        assert answer["result"] is True
        assert set(answer) == {"result", "time"}
        assert flows(emu)[0]["active"] is expected


def test_flow_errors_are_400_with_code_zero(hook) -> None:
    for method in ("tasks.flow.Flow.get", "tasks.flow.Flow.activate"):
        response = hook.post(method, json={"flowId": 99999})
        assert response.status_code == 400
        body = response.json()
        assert (body["error"], body["error_description"]) == ("0", "Flow not found")
        assert "time" in body


def test_unknown_method(hook) -> None:
    response = hook.post("tasks.flow.Flow.list", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_bad_webhook_code(emu) -> None:
    url = emu.bitrix24_webhook_url.replace(emu.token, "wrong")
    response = httpx.post(url + "tasks.flow.Flow.get", json={"flowId": 517})
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


def test_create_update_is_exists_pin_delete(hook, emu) -> None:
    data = {
        "name": "Created in a test",
        "plannedCompletionTime": 7200,
        "distributionType": "queue",
        "responsibleList": [["user", "3"]],
    }
    created = hook.post("tasks.flow.Flow.create", json={"flowData": data}).json()["result"]
    assert created["active"] is True
    assert created["id"] == max(f["id"] for f in flows(emu))
    duplicate = hook.post("tasks.flow.Flow.create", json={"flowData": data})
    assert duplicate.status_code == 400
    assert duplicate.json()["error_description"] == "A flow with this name already exists"
    bad = hook.post(
        "tasks.flow.Flow.create", json={"flowData": {**data, "name": "x", "distributionType": "?"}}
    )
    assert bad.json()["error_description"] == (
        "'distributionType': field's value has an invalid value"
    )
    exists = hook.post("tasks.flow.Flow.isExists", json={"flowData": {"name": data["name"]}})
    assert exists.json()["result"] == {"exists": True}
    updated = hook.post(
        "tasks.flow.Flow.update",
        json={"flowData": {**data, "id": created["id"], "name": "Renamed", "active": False}},
    ).json()["result"]
    assert (updated["name"], updated["active"]) == ("Renamed", True)
    assert hook.post("tasks.flow.Flow.pin", json={"flowId": created["id"]}).json()["result"] is True
    assert (
        hook.post("tasks.flow.Flow.pin", json={"flowId": created["id"]}).json()["result"] is False
    )
    deleted = hook.post("tasks.flow.Flow.delete", json={"flowData": {"id": created["id"]}})
    assert deleted.json()["result"] == {"deleted": True}
    assert hook.post("tasks.flow.Flow.get", json={"flowId": created["id"]}).status_code == 400


def test_create_with_php_style_form_fields(hook) -> None:
    form = {
        "flowData[name]": "From a form",
        "flowData[plannedCompletionTime]": "3600",
        "flowData[distributionType]": "manually",
        "flowData[responsibleList][0][]": ["user", "5"],
    }
    result = hook.post("tasks.flow.Flow.create", data=form).json()["result"]
    assert result["responsibleList"] == [["user", "5"]]


def test_batch_with_a_map(hook, emu) -> None:
    ids = [f["id"] for f in flows(emu)[:3]]
    cmd = {f"f{i}": f"tasks.flow.Flow.get?flowId={i}" for i in ids}
    cmd["missing"] = "tasks.flow.Flow.get?flowId=1"
    body = hook.post("batch", json={"cmd": cmd}).json()
    results = body["result"]["result"]
    assert {key: flow["id"] for key, flow in results.items()} == {f"f{i}": i for i in ids}
    assert body["result"]["result_error"] == {
        "missing": {"error": "0", "error_description": "Flow not found"}
    }
    assert set(body["result"]) == {
        "result",
        "result_error",
        "result_total",
        "result_next",
        "result_time",
    }
    assert "time" in body


def test_batch_with_a_list_and_halt(hook, emu) -> None:
    first, second = (f["id"] for f in flows(emu)[:2])
    second_active = flows(emu)[1]["active"]
    cmd = [
        f"tasks.flow.Flow.get?flowId={first}",
        "tasks.flow.Flow.activate?flowId=1",
        f"tasks.flow.Flow.activate?flowId={second}",
    ]
    halted = hook.post("batch", json={"cmd": cmd, "halt": 1}).json()["result"]
    assert [flow["id"] for flow in halted["result"]] == [first]  # keys 0..n-1: a JSON list
    assert halted["result_error"] == {"1": {"error": "0", "error_description": "Flow not found"}}
    assert flows(emu)[1]["active"] is second_active
    clean = hook.post("batch", json={"cmd": cmd[:1]}).json()["result"]
    assert clean["result"][0]["id"] == first
    assert clean["result_error"] == []


def test_batch_limits(hook) -> None:
    too_long = hook.post("batch", json={"cmd": ["tasks.flow.Flow.get?flowId=517"] * 51})
    assert too_long.status_code == 400
    assert too_long.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    nested = hook.post("batch", json={"cmd": {"a": "batch?cmd[b]=tasks.flow.Flow.get"}})
    assert nested.status_code == 405
    assert nested.json()["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_leaky_bucket_and_batch_counts_once(hook, emu) -> None:
    emu.set_fault("bitrix24", bucket_threshold=3, bucket_drain_per_s=0.01)
    flow_id = flows(emu)[0]["id"]
    cmd = [f"tasks.flow.Flow.get?flowId={flow_id}"] * 50
    assert hook.post("batch", json={"cmd": cmd}).status_code == 200
    statuses = [hook.post("tasks.flow.Flow.get", json={"flowId": flow_id}).status_code]
    statuses += [hook.post("tasks.flow.Flow.get", json={"flowId": flow_id}).status_code]
    limited = hook.post("tasks.flow.Flow.get", json={"flowId": flow_id})
    assert statuses == [200, 200]
    assert limited.status_code == 503
    assert limited.json()["error"] == "QUERY_LIMIT_EXCEEDED"
    emu.set_fault("bitrix24", bucket_drain_per_s=1000)
    assert hook.post("tasks.flow.Flow.get", json={"flowId": flow_id}).status_code == 200


def test_oauth_calls_expiry_and_renewal(emu) -> None:
    portal = emu.bitrix24_url
    flow_id = flows(emu)[0]["id"]
    by_param = httpx.post(
        f"{portal}/rest/tasks.flow.Flow.get", json={"flowId": flow_id, "auth": emu.token}
    )
    assert by_param.status_code == 200
    bearer = {"Authorization": f"Bearer {emu.token}"}
    by_header = httpx.post(
        f"{portal}/rest/tasks.flow.Flow.get", json={"flowId": 517}, headers=bearer
    )
    assert by_header.status_code == 200
    unknown = httpx.post(f"{portal}/rest/tasks.flow.Flow.get", json={"flowId": 517, "auth": "x"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "NO_AUTH_FOUND")
    assert emu.expire_tokens("bitrix24") == 1
    expired = httpx.post(f"{portal}/rest/tasks.flow.Flow.get", json={"flowId": 517}, headers=bearer)
    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    renewal = {
        "grant_type": "refresh_token",
        "client_id": emu.bitrix24_client_id,
        "client_secret": emu.bitrix24_client_secret,
        "refresh_token": emu.bitrix24_refresh_token,
    }
    fresh = httpx.get(emu.bitrix24_oauth_url, params=renewal).json()
    assert {
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "client_endpoint",
        "server_endpoint",
        "domain",
        "member_id",
        "scope",
        "status",
        "user_id",
    } <= set(fresh)
    assert fresh["expires_in"] == 3600
    assert fresh["refresh_token"] != emu.bitrix24_refresh_token
    again = httpx.get(emu.bitrix24_oauth_url, params=renewal)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    renewed = {"Authorization": f"Bearer {fresh['access_token']}"}
    works = httpx.post(f"{portal}/rest/tasks.flow.Flow.get", json={"flowId": 517}, headers=renewed)
    assert works.status_code == 200
    second = httpx.get(
        emu.bitrix24_oauth_url, params={**renewal, "refresh_token": fresh["refresh_token"]}
    ).json()
    assert second["refresh_token"] != fresh["refresh_token"]
    emu.set_fault("bitrix24", token_ttl_s=120)
    short = httpx.get(
        emu.bitrix24_oauth_url, params={**renewal, "refresh_token": second["refresh_token"]}
    ).json()
    assert short["expires_in"] == 120
    wrong_client = httpx.get(emu.bitrix24_oauth_url, params={**renewal, "client_secret": "no"})
    assert wrong_client.json()["error"] == "invalid_client"


def test_overload_limit_is_a_503_with_its_own_code(hook, emu) -> None:
    emu.set_fault("bitrix24", overload_limit=True)
    for _ in range(2):
        response = hook.post("tasks.flow.Flow.get", json={"flowId": 517})
        assert response.status_code == 503
        assert response.json()["error"] == "OVERLOAD_LIMIT"
    assert emu.http.put("/faults/bitrix24", json={"overload_limit": 1}).status_code == 422
    emu.set_fault("bitrix24", overload_limit=False)
    assert hook.post("tasks.flow.Flow.get", json={"flowId": 517}).status_code == 200
