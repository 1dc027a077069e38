"""GASSAPI: act routing by method, the envelope, toggle/409, tokens and their rotation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

ENVELOPE = {"success", "status_code", "message", "timestamp", "request_id", "data"}


@pytest.fixture
def gass(emu) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.token}"}
    with httpx.Client(base_url=emu.gassapi_url, headers=headers, timeout=5) as client:
        yield client


def call(client: httpx.Client, method: str, act: str, object_id: str = "", **kwargs):
    return client.request(method, "", params={"act": act, "id": object_id}, **kwargs)


def raw(emu) -> dict:
    return emu.state("gassapi")


def member_flow(emu, **wanted) -> dict:
    members = {p["id"] for p in raw(emu)["projects"] if p["member"]}
    return next(
        f
        for f in raw(emu)["flows"]
        if f["project_id"] in members and all(f[k] == v for k, v in wanted.items())
    )


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def test_projects_and_flow_list(gass, emu) -> None:
    projects = call(gass, "GET", "projects").json()
    assert set(projects) == ENVELOPE
    assert projects["success"] is True
    member_ids = [p["id"] for p in projects["data"]]
    assert len(member_ids) == 2
    listed = []
    for act in ("flows", "flow_list"):
        answer = call(gass, "GET", act, member_ids[0]).json()
        assert answer["status_code"] == 200
        rows = answer["data"]
        created = [row["created_at"] for row in rows]
        assert created == sorted(created, reverse=True)
        assert all(row["is_active"] in (0, 1) for row in rows)
        assert all(row["project_id"] == member_ids[0] for row in rows)
        listed.append([row["id"] for row in rows])
    assert listed[0] == listed[1]
    total = sum(len(call(gass, "GET", "flows", p).json()["data"]) for p in member_ids)
    assert total == 20


def test_active_list_only_has_active_flows(gass, emu) -> None:
    project = member_flow(emu)["project_id"]
    rows = call(gass, "GET", "flows_active", project).json()["data"]
    expected = [f["id"] for f in raw(emu)["flows"] if f["project_id"] == project and f["is_active"]]
    assert [row["id"] for row in rows] == expected


def test_lists_are_silently_cut_at_100(gass, emu) -> None:
    emu.reset(flows=4, seed=3, gassapi_big_project=130)
    big = next(p for p in raw(emu)["projects"] if p["name"] == "Big project")
    answer = call(gass, "GET", "flows", big["id"]).json()
    assert answer["success"] is True
    assert len(answer["data"]) == 100
    newest = [f["id"] for f in raw(emu)["flows"] if f["project_id"] == big["id"]][:100]
    assert [row["id"] for row in answer["data"]] == newest


def test_get_one_flow(gass, emu) -> None:
    flow = member_flow(emu)
    for act in ("flow", "flow_get", "flow_update"):  # GET on flow_update just reads
        answer = call(gass, "GET", act, flow["id"]).json()
        assert answer["data"]["id"] == flow["id"]
        assert answer["data"]["is_active"] == flow["is_active"]
        assert "folder_name" in answer["data"]
        assert "running" not in answer["data"]


@pytest.mark.parametrize(
    ("method", "act", "status", "message"),
    [
        ("GET", "no_such_act", 400, "Invalid request: Invalid action"),
        ("PATCH", "flow", 404, "Not found: Method not allowed"),
        ("GET", "flow_toggle_active", 404, "Not found: Route not found"),
        ("POST", "flow", 404, "Not found: Route not found"),
        ("GET", "flow", 404, "Not found: Flow not found"),
    ],
)
def test_routing_errors(gass, method, act, status, message) -> None:
    object_id = "flow_missing" if act == "flow" else "x"
    response = call(gass, method, act, object_id)
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["status_code"] == status
    assert body["message"] == message
    assert "data" not in body


def test_toggle_inverts_every_time(gass, emu) -> None:
    flow = member_flow(emu, is_active=1)
    first = call(gass, "PUT", "flow_toggle_active", flow["id"]).json()
    assert (first["message"], first["data"]["is_active"]) == ("Flow deactivated", 0)
    second = call(gass, "PUT", "flow_toggle_active", flow["id"]).json()
    assert (second["message"], second["data"]["is_active"]) == ("Flow activated", 1)


def test_activate_and_deactivate_are_absolute(gass, emu) -> None:
    flow = member_flow(emu, is_active=0)
    for _ in range(2):
        answer = call(gass, "PUT", "flow_activate", flow["id"]).json()
        assert (answer["message"], answer["data"]["is_active"]) == (
            "Flow activated successfully",
            1,
        )
    answer = call(gass, "GET", "flow_deactivate", flow["id"]).json()
    assert (answer["message"], answer["data"]["is_active"]) == ("Flow deactivated successfully", 0)


@pytest.mark.parametrize(("value", "expected"), [(True, 1), (False, 0), ("0", 0), (1, 1)])
def test_update_accepts_is_active(gass, emu, value, expected) -> None:
    flow = member_flow(emu)
    answer = call(gass, "PUT", "flow_update", flow["id"], json={"is_active": value}).json()
    assert answer["message"] == "Flow updated successfully"
    assert answer["data"]["is_active"] == expected


def test_post_with_method_override(gass, emu) -> None:
    flow = member_flow(emu, is_active=1)
    by_header = call(
        gass, "POST", "flow_toggle_active", flow["id"], headers={"X-HTTP-Method-Override": "PUT"}
    )
    assert by_header.json()["data"]["is_active"] == 0
    by_field = call(gass, "POST", "flow_toggle_active", flow["id"], data={"_method": "PUT"})
    assert by_field.json()["data"]["is_active"] == 1
    with_put = call(gass, "POST", "flow", flow["id"], json={"_method": "PUT", "name": "Renamed"})
    assert with_put.json()["data"]["name"] == "Renamed"


def test_running_flow_refuses_status_changes(gass, emu) -> None:
    flow = member_flow(emu)
    emu.set_flow("gassapi", flow["id"], running=True)
    attempts = [
        call(gass, "PUT", "flow_toggle_active", flow["id"]),
        call(gass, "PUT", "flow_activate", flow["id"]),
        call(gass, "PUT", "flow_deactivate", flow["id"]),
        call(gass, "PUT", "flow_update", flow["id"], json={"is_active": True}),
    ]
    for response in attempts:
        assert response.status_code == 409
        assert (
            response.json()["message"] == "Cannot toggle status: Flow is currently being executed"
        )
    renamed = call(gass, "PUT", "flow_update", flow["id"], json={"name": "Still editable"})
    assert renamed.status_code == 200
    assert member_flow(emu, id=flow["id"])["is_active"] == flow["is_active"]


def test_foreign_project_is_forbidden(gass, emu) -> None:
    foreign = next(p for p in raw(emu)["projects"] if not p["member"])
    flow = next(f for f in raw(emu)["flows"] if f["project_id"] == foreign["id"])
    for act, object_id in (("flows", foreign["id"]), ("flow", flow["id"])):
        response = call(gass, "GET", act, object_id)
        assert response.status_code == 403
        assert response.json()["message"] == "Forbidden"
    assert call(gass, "PUT", "flow_toggle_active", flow["id"]).status_code == 403


def test_missing_or_bad_token_is_the_generic_401(emu) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": emu.token}):
        response = httpx.get(emu.gassapi_url, params={"act": "projects"}, headers=headers)
        assert response.status_code == 401
        assert response.json()["message"] == "Authentication failed: Authentication required"


def test_expired_token_then_refresh_rotation(gass, emu) -> None:
    assert emu.expire_tokens("gassapi") == 1
    expired = call(gass, "GET", "projects")
    assert expired.status_code == 401
    assert expired.json()["message"] == "Authentication failed: Authentication required"
    refreshed = httpx.post(
        emu.gassapi_url,
        params={"act": "refresh"},
        json={"refresh_token": emu.gassapi_refresh_token},
    ).json()
    assert refreshed["message"] == "Token refreshed successfully"
    tokens = refreshed["data"]["tokens"]
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert "user" in refreshed["data"]
    assert tokens["access_token"].count(".") == 2
    fresh = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(emu.gassapi_url, params={"act": "projects"}, headers=fresh).status_code == 200
    reused = httpx.post(
        emu.gassapi_url,
        params={"act": "refresh"},
        json={"refresh_token": emu.gassapi_refresh_token},
    )
    assert reused.status_code == 401
    states = {t["fingerprint"]: t for t in raw(emu)["tokens"]}
    assert states[fingerprint(emu.gassapi_refresh_token)]["active"] is False
    assert states[fingerprint(tokens["refresh_token"])]["valid"] is True
    assert states[fingerprint(emu.token)]["valid"] is False


def test_login(emu) -> None:
    url = emu.gassapi_url
    good = {"email": emu.gassapi_email, "password": emu.gassapi_password}
    data = httpx.post(url, params={"act": "login"}, json=good).json()["data"]
    assert {"access_token", "refresh_token", "token_type", "expires_in"} <= set(data)
    assert data["token_type"] == "Bearer"
    bad = httpx.post(url, params={"act": "login"}, json={**good, "password": "x"})
    assert bad.status_code == 401
    assert bad.json()["message"].startswith("Authentication failed: ")


def test_token_ttl_is_configurable(emu) -> None:
    emu.set_fault("gassapi", token_ttl_s=60)
    good = {"email": emu.gassapi_email, "password": emu.gassapi_password}
    data = httpx.post(emu.gassapi_url, params={"act": "login"}, json=good).json()["data"]
    assert data["expires_in"] == 60


def test_create_and_delete(gass, emu) -> None:
    project = member_flow(emu)["project_id"]
    created = call(gass, "POST", "flow_create", project, json={"name": "New one"})
    assert created.status_code == 201
    flow = created.json()["data"]
    assert flow["is_active"] == 1
    assert call(gass, "GET", "flows", project).json()["data"][0]["id"] == flow["id"]
    again = call(gass, "POST", "flow_create", project, json={"name": "New one"})
    assert again.status_code == 409
    assert call(gass, "POST", "flow_create", project, json={}).status_code == 400
    assert call(gass, "DELETE", "flow", flow["id"]).status_code == 200
    assert call(gass, "GET", "flow", flow["id"]).status_code == 404


def test_other_error_shape(gass, emu) -> None:
    emu.set_fault("gassapi", other_error_shape_rate=1.0)
    response = call(gass, "GET", "flow", "flow_missing")
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Flow not found"}
    emu.set_fault("gassapi", other_error_shape_rate=0.5)
    shapes = {"success" in call(gass, "GET", "flow", "flow_missing").json() for _ in range(40)}
    assert shapes == {True, False}
