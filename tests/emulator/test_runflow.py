"""Runflow: cursors, free-string status_code, updated_at conflicts, org header, 429s."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture
def runflow(emu) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.token}"}
    with httpx.Client(base_url=emu.runflow_url, headers=headers, timeout=5) as client:
        yield client


def raw_flows(emu) -> list[dict]:
    return emu.state("runflow")["flows"]


def test_summaries_walk_with_pq(runflow, emu) -> None:
    seen, params, pages = [], {"limit": 6}, []
    while True:
        page = runflow.get("/v1/flow-summaries", params=params).json()
        assert set(page) == {"items", "next_pq", "prev_pq"}
        pages.append(page)
        seen += [item["id"] for item in page["items"]]
        if page["next_pq"] is None:
            break
        params = {"limit": 6, "pq": page["next_pq"]}
    assert seen == [f["id"] for f in raw_flows(emu)]
    assert pages[0]["prev_pq"] is None
    back = runflow.get(
        "/v1/flow-summaries", params={"limit": 6, "pq": pages[1]["prev_pq"], "from_prev": "true"}
    ).json()
    assert back["items"] == pages[0]["items"]
    item = pages[0]["items"][0]
    assert {"id", "status_code", "updated_at", "node_count", "nodes", "org_id"} <= set(item)


def test_status_codes_include_values_that_are_neither_on_nor_off(emu) -> None:
    emu.reset(flows=60, seed=1)
    codes = {f["status_code"] for f in raw_flows(emu)}
    assert {"active", "inactive"} <= codes
    assert codes - {"active", "inactive"}


def test_full_flows_list_and_ignored_query_options(runflow, emu) -> None:
    page = runflow.get(
        "/v1/flows",
        params={"limit": 500, "q": "status_code:active", "sort_by": "created_at:desc"},
    ).json()
    assert len(page["items"]) == 20
    assert "nodes" in page["items"][0]
    assert "version" in page["items"][0]
    projected = runflow.get("/v1/flows", params={"fields": "id,status_code"}).json()
    assert set(projected["items"][0]) == {"id", "status_code"}


@pytest.mark.parametrize("limit", [501, 0, "many"])
def test_limit_out_of_range_is_422(runflow, limit) -> None:
    response = runflow.get("/v1/flow-summaries", params={"limit": limit})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["errors"][0]["field"] == "limit"


def test_get_one_and_not_found(runflow, emu) -> None:
    flow = raw_flows(emu)[0]
    assert runflow.get(f"/v1/flows/{flow['id']}").json() == flow
    missing = runflow.get("/v1/flows/3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert missing.status_code == 404
    assert missing.json() == {"code": "NOT_FOUND", "message": "Flow not found", "errors": []}


def test_patch_status_code_bumps_updated_at(runflow, emu) -> None:
    flow = raw_flows(emu)[0]
    response = runflow.patch(
        f"/v1/flows/{flow['id']}",
        json={"status_code": "paused-by-ops", "updated_at": flow["updated_at"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == "paused-by-ops"
    assert body["updated_at"] > flow["updated_at"]
    assert body["name"] == flow["name"]
    without_guard = runflow.patch(f"/v1/flows/{flow['id']}", json={"status_code": "active"})
    assert without_guard.json()["status_code"] == "active"


def test_stale_updated_at_is_a_409(runflow, emu) -> None:
    flow = raw_flows(emu)[0]
    emu.set_flow("runflow", flow["id"], active=False)
    response = runflow.patch(
        f"/v1/flows/{flow['id']}", json={"status_code": "active", "updated_at": flow["updated_at"]}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "CONFLICT"
    assert body["errors"] == []
    assert isinstance(body["message"], str)
    assert raw_flows(emu)[0]["status_code"] == "inactive"
    fresh = runflow.get(f"/v1/flows/{flow['id']}").json()
    retried = runflow.patch(
        f"/v1/flows/{flow['id']}", json={"status_code": "active", "updated_at": fresh["updated_at"]}
    )
    assert retried.status_code == 200


@pytest.mark.parametrize(
    "body", [{"status_code": 5}, {"updated_at": "yesterday"}, {"context_variables": []}]
)
def test_patch_validation(runflow, emu, body) -> None:
    response = runflow.patch(f"/v1/flows/{raw_flows(emu)[0]['id']}", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_auth_and_organisation(runflow, emu) -> None:
    unauthorised = httpx.get(f"{emu.runflow_url}/v1/flows", headers={"Authorization": "Bearer x"})
    assert unauthorised.status_code == 401
    assert unauthorised.json()["code"] == "UNAUTHORIZED"
    own = runflow.get("/v1/flows", headers={"X-Organization-Id": emu.runflow_org_id})
    assert own.status_code == 200
    other = runflow.get(
        "/v1/flows", headers={"X-Organization-Id": emu.state("runflow")["other_org_id"]}
    )
    assert other.status_code == 403
    assert other.json()["code"] == "PERMISSION_DENIED"


def test_rate_limit_with_retry_after(runflow, emu) -> None:
    emu.set_fault("runflow", rate_limit_per_s=0.01, rate_limit_burst=3, retry_after_s=7)
    statuses = [runflow.get("/v1/flow-summaries").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = runflow.get("/v1/flow-summaries")
    assert limited.status_code == 429
    assert limited.json()["code"] == "RATE_LIMITED"
    assert limited.json()["message"].startswith("Rate limit exceeded: ")
    assert limited.headers["Retry-After"] == "7"


def test_rate_limit_without_retry_after(runflow, emu) -> None:
    emu.set_fault("runflow", rate_limit_per_s=0.01, rate_limit_burst=1, retry_after_s=None)
    assert runflow.get("/v1/flow-summaries").status_code == 200
    limited = runflow.get("/v1/flow-summaries")
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
