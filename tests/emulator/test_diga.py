"""Diga as its OpenAPI document says, including the unpublished-flow no-op."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

FLOW_FIELDS = {
    "id",
    "name",
    "created",
    "updated",
    "status",
    "flow_category",
    "trigger",
    "produced_variables",
    "consumed_variables",
}


@pytest.fixture
def diga(emu) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.token}"}
    with httpx.Client(base_url=emu.diga_url, headers=headers, timeout=5) as client:
        yield client


def raw_flows(emu) -> list[dict]:
    return emu.state("diga")["flows"]


def first_where(emu, **wanted) -> dict:
    return next(f for f in raw_flows(emu) if all(f[k] == v for k, v in wanted.items()))


def test_list_defaults_to_ten_newest_first(diga, emu) -> None:
    page = diga.get("/v1/workflow/").json()
    assert set(page) == {"data", "has_more", "first_id", "last_id", "current_page", "total_pages"}
    assert len(page["data"]) == 10
    assert page["has_more"] is True
    assert page["current_page"] == 1
    assert page["total_pages"] == 2
    created = [flow["created"] for flow in page["data"]]
    assert created == sorted(created, reverse=True)
    assert [f["id"] for f in page["data"]] == [f["id"] for f in raw_flows(emu)[:10]]
    assert all(set(flow) == FLOW_FIELDS for flow in page["data"])


def test_after_cursor_walks_every_flow_once(diga, emu) -> None:
    seen, params = [], {"limit": 7}
    while True:
        page = diga.get("/v1/workflow/", params=params).json()
        seen += [flow["id"] for flow in page["data"]]
        if not page["has_more"]:
            break
        params = {"limit": 7, "after": page["last_id"]}
    assert seen == [f["id"] for f in raw_flows(emu)]


def test_before_cursor_gives_the_previous_page(diga) -> None:
    first = diga.get("/v1/workflow/", params={"limit": 5}).json()
    second = diga.get("/v1/workflow/", params={"limit": 5, "after": first["last_id"]}).json()
    back = diga.get("/v1/workflow/", params={"limit": 5, "before": second["first_id"]}).json()
    assert [f["id"] for f in back["data"]] == [f["id"] for f in first["data"]]
    assert back["has_more"] is False


def test_page_mode(diga, emu) -> None:
    page = diga.get("/v1/workflow/", params={"limit": 30, "page": 1}).json()
    assert page["current_page"] == 1
    assert page["total_pages"] == 1
    assert page["has_more"] is False
    assert len(page["data"]) == 20
    second = diga.get("/v1/workflow/", params={"limit": 8, "page": 3}).json()
    assert [f["id"] for f in second["data"]] == [f["id"] for f in raw_flows(emu)[16:20]]


def test_filters(diga, emu) -> None:
    enabled = diga.get("/v1/workflow/", params={"status": "ENABLED", "limit": 30}).json()
    expected = [f["id"] for f in raw_flows(emu) if f["status"] == "ENABLED"]
    assert [f["id"] for f in enabled["data"]] == expected
    category = raw_flows(emu)[0]["flow_category"]
    by_category = diga.get("/v1/workflow/", params={"flow_category": category}).json()
    assert by_category["data"]
    assert all(f["flow_category"] == category for f in by_category["data"])


@pytest.mark.parametrize(
    ("params", "loc", "kind"),
    [
        ({"limit": 31}, ["query", "limit"], "less_than_equal"),
        ({"limit": 0}, ["query", "limit"], "greater_than_equal"),
        ({"limit": "x"}, ["query", "limit"], "int_parsing"),
        ({"order": "asc"}, ["query", "order"], "literal_error"),
        ({"status": "ON"}, ["query", "status"], "enum"),
        ({"page": 0}, ["query", "page"], "greater_than_equal"),
        ({"after": "no-such-id"}, ["query", "after"], "value_error"),
    ],
)
def test_list_validation_errors_in_fastapi_shape(diga, params, loc, kind) -> None:
    response = diga.get("/v1/workflow/", params=params)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    assert error["type"] == kind
    assert isinstance(error["msg"], str)


def test_get_one_flow_has_exactly_the_documented_fields(diga, emu) -> None:
    raw = raw_flows(emu)[3]
    flow = diga.get(f"/v1/workflow/{raw['id']}").json()
    assert set(flow) == FLOW_FIELDS
    assert "published" not in flow
    assert flow["status"] == raw["status"]


def test_unknown_flow_and_bad_key(diga, emu) -> None:
    missing = diga.get("/v1/workflow/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "status": "error",
        "error_code": "WORKFLOW_NOT_FOUND",
        "message": "Workflow not found",
    }
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        response = httpx.get(f"{emu.diga_url}/v1/workflow/", headers=headers)
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_API_KEY"
        assert response.json()["status"] == "error"


def test_status_change_on_published_flow(diga, emu) -> None:
    flow = first_where(emu, published=True, status="DISABLED")
    response = diga.patch(f"/v1/workflow/{flow['id']}/status", json={"status": "ENABLED"})
    assert response.status_code == 200
    assert response.json()["status"] == "ENABLED"
    assert response.json()["updated"] > flow["updated"]
    assert diga.get(f"/v1/workflow/{flow['id']}").json()["status"] == "ENABLED"


def test_enabling_a_never_published_flow_is_a_silent_no_op(diga, emu) -> None:
    flow = first_where(emu, published=False)
    response = diga.patch(f"/v1/workflow/{flow['id']}/status", json={"status": "ENABLED"})
    assert response.status_code == 200
    assert response.json()["status"] == flow["status"] == "DISABLED"
    assert response.json()["updated"] == flow["updated"]
    published = diga.post(f"/v1/workflow/{flow['id']}/publish")
    assert published.status_code == 200
    assert published.json()["status"] == "DISABLED"
    enabled = diga.patch(f"/v1/workflow/{flow['id']}/status", json={"status": "ENABLED"})
    assert enabled.json()["status"] == "ENABLED"
    assert first_where(emu, id=flow["id"])["published"] is True


@pytest.mark.parametrize("body", [{"status": "ON"}, {"status": None}, {}])
def test_status_validation(diga, emu, body) -> None:
    flow_id = raw_flows(emu)[0]["id"]
    response = diga.patch(f"/v1/workflow/{flow_id}/status", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]


def test_create_makes_a_draft(diga, emu) -> None:
    response = diga.post("/v1/workflow/", json={"name": "From the test"})
    assert response.status_code == 201
    flow = response.json()
    assert set(flow) == FLOW_FIELDS
    assert flow["name"] == "From the test"
    assert first_where(emu, id=flow["id"])["published"] is False
    assert diga.get("/v1/workflow/", params={"limit": 1}).json()["data"][0]["id"] == flow["id"]
    no_op = diga.patch(f"/v1/workflow/{flow['id']}/status", json={"status": "ENABLED"})
    assert no_op.json()["status"] == "DISABLED"


@pytest.mark.parametrize(
    ("content", "loc", "kind"),
    [
        (b'{"name": ""}', ["body", "name"], "string_too_short"),
        (b"{}", ["body", "name"], "missing"),
        (b'{"name": 3}', ["body", "name"], "string_type"),
        (b"", ["body"], "missing"),
        (b"{not json", ["body", 1], "json_invalid"),
    ],
)
def test_create_validation(diga, content, loc, kind) -> None:
    response = diga.post(
        "/v1/workflow/", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert (error["loc"], error["type"]) == (loc, kind)


def test_same_seed_same_data(emu) -> None:
    first = raw_flows(emu)
    emu.reset(flows=20, seed=1)
    assert raw_flows(emu) == first
    emu.reset(flows=20, seed=2)
    assert [f["id"] for f in raw_flows(emu)] != [f["id"] for f in first]


def test_is_diga_trigger_filter_and_one_paging_mode(diga, emu) -> None:
    flows = diga.get("/v1/workflow/", params={"is_diga_trigger": "true", "limit": 30}).json()
    expected = [
        f["id"]
        for f in raw_flows(emu)
        if ((f["trigger"] or {}).get("settings") or {}).get("pieceName", "").startswith("@diga/")
    ]
    assert [f["id"] for f in flows["data"]] == expected
    assert diga.get("/v1/workflow/", params={"is_diga_trigger": "maybe"}).status_code == 422
    first = raw_flows(emu)[0]["id"]
    both = diga.get("/v1/workflow/", params={"after": first, "page": 2})
    assert both.status_code == 422
