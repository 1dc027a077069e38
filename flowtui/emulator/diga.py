"""Diga (api.diga.io) workflow endpoints, as its OpenAPI document describes them.

The trap kept on purpose: `PATCH /v1/workflow/{id}/status` on a flow that was never
published answers 200 with the flow unchanged. Whether a flow was published is internal
state, visible only through the admin API.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowtui.emulator import seed, validation
from flowtui.emulator.clock import later_than, utcnow
from flowtui.emulator.faults import mark_applied
from flowtui.emulator.state import DIGA_CATEGORIES, DigaFlow, OrderedStore
from flowtui.emulator.validation import ValidationFailed

if TYPE_CHECKING:
    from flowtui.emulator.runtime import Emulator

STATUSES = ("ENABLED", "DISABLED")
MAX_LIMIT = 30
DEFAULT_LIMIT = 10


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "error_code": code, "message": message}, status_code=status
    )


def _created_key(flow: DigaFlow) -> tuple[Any, str]:
    return flow.created, flow.id


class Diga:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.flows: OrderedStore[DigaFlow] = OrderedStore()

    # -- platform protocol ------------------------------------------------------------------

    def reset(self, flows: int, seed_value: int, options: dict[str, Any]) -> None:
        self.flows = OrderedStore()
        for flow in seed.diga_flows(flows, seed_value):
            self.flows.add(flow.id, flow)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/workflow/", self.list_flows, methods=["GET"]),
            Route("/v1/workflow/", self.create_flow, methods=["POST"]),
            Route("/v1/workflow/{flow_id}", self.get_flow, methods=["GET"]),
            Route("/v1/workflow/{flow_id}/status", self.set_status, methods=["PATCH"]),
            Route("/v1/workflow/{flow_id}/publish", self.publish, methods=["POST"]),
        ]

    def server_error(self) -> Response:
        return _error(503, "WORKFLOW_SERVICE_UNAVAILABLE", "Workflow service unavailable")

    def http_error(self, status: int) -> Response:
        return JSONResponse({"detail": HTTPStatus(status).phrase}, status_code=status)

    def to_raw(self) -> dict[str, Any]:
        ordered = self.flows.order(_created_key)
        return {"flows": [self.flows.items[key].to_raw() for key in ordered]}

    def set_flow(self, flow_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        flow = self.flows.items.get(flow_id)
        if flow is None:
            return None
        for name, value in changes.items():
            if name == "active":
                flow.status = "ENABLED" if value else "DISABLED"
            elif name == "status" and (value is None or value in STATUSES):
                flow.status = value
            elif name == "published":
                flow.published = bool(value)
            elif name == "name":
                flow.name = value
            else:
                raise ValueError(f"diga flows have no settable field {name!r} = {value!r}")
        flow.updated = later_than(flow.updated)
        return flow.to_raw()

    def expire_tokens(self) -> int:
        raise ValueError("diga API keys do not expire")

    # -- endpoints --------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.emulator.config.token

    def _flow(self, request: Request) -> DigaFlow | Response:
        if not self._authorised(request):
            return _error(401, "INVALID_API_KEY", "Invalid or missing API key")
        flow = self.flows.items.get(request.path_params["flow_id"])
        if flow is None:
            return _error(404, "WORKFLOW_NOT_FOUND", "Workflow not found")
        return flow

    async def get_flow(self, request: Request) -> Response:
        flow = self._flow(request)
        return flow if isinstance(flow, Response) else JSONResponse(flow.to_api())

    async def create_flow(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "INVALID_API_KEY", "Invalid or missing API key")
        try:
            body = await validation.json_object(request)
        except ValidationFailed as failed:
            return validation.response(failed.errors)
        name = body.get("name")
        if "name" not in body:
            errors = [validation.error("missing", ["body", "name"], "Field required", body)]
        elif not isinstance(name, str):
            errors = [
                validation.error(
                    "string_type", ["body", "name"], "Input should be a valid string", name
                )
            ]
        elif not name:
            errors = [
                validation.error(
                    "string_too_short",
                    ["body", "name"],
                    "String should have at least 1 character",
                    name,
                    min_length=1,
                )
            ]
        else:
            errors = []
        if errors:
            return validation.response(errors)
        flow_id = seed.diga_id(self.emulator.rng)
        flow = seed.diga_draft(flow_id, str(name), utcnow())
        self.flows.add(flow_id, flow)
        mark_applied(request)
        return JSONResponse(flow.to_api(), status_code=201)

    async def set_status(self, request: Request) -> Response:
        flow = self._flow(request)
        if isinstance(flow, Response):
            return flow
        try:
            body = await validation.json_object(request)
        except ValidationFailed as failed:
            return validation.response(failed.errors)
        errors: list[dict[str, Any]] = []
        if "status" not in body:
            errors.append(validation.error("missing", ["body", "status"], "Field required", body))
        else:
            validation.enum_value(body["status"], STATUSES, ["body", "status"], errors)
        if errors:
            return validation.response(errors)
        mark_applied(request)
        if flow.published and flow.status != body["status"]:
            flow.status = body["status"]
            flow.updated = later_than(flow.updated)
        return JSONResponse(flow.to_api())

    async def publish(self, request: Request) -> Response:
        flow = self._flow(request)
        if isinstance(flow, Response):
            return flow
        flow.published = True
        flow.updated = later_than(flow.updated)
        mark_applied(request)
        return JSONResponse(flow.to_api())

    async def list_flows(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "INVALID_API_KEY", "Invalid or missing API key")
        try:
            page = self._page(request.query_params)
        except ValidationFailed as failed:
            return validation.response(failed.errors)
        return JSONResponse(page)

    def _page(self, query: Any) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        limit = validation.int_value(
            query.get("limit"), ["query", "limit"], errors, ge=1, le=MAX_LIMIT
        )
        page = validation.int_value(query.get("page"), ["query", "page"], errors, ge=1)
        if query.get("order", "desc") != "desc":
            errors.append(
                validation.error(
                    "literal_error",
                    ["query", "order"],
                    "Input should be 'desc'",
                    query["order"],
                    expected="'desc'",
                )
            )
        status, category = query.get("status"), query.get("flow_category")
        if status is not None:
            validation.enum_value(status, STATUSES, ["query", "status"], errors)
        if category is not None:
            validation.enum_value(category, DIGA_CATEGORIES, ["query", "flow_category"], errors)
        diga_trigger = self._bool_param(query.get("is_diga_trigger"), errors)
        after, before = query.get("after"), query.get("before")
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None and cursor not in self.flows.items:
                errors.append(
                    validation.error(
                        "value_error", ["query", name], "Value error, Unknown cursor id", cursor
                    )
                )
        if sum(x is not None for x in (after, before, page)) > 1:
            errors.append(
                validation.error(
                    "value_error",
                    ["query"],
                    "Value error, Use only one of after, before and page",
                    dict(query),
                )
            )
        if errors:
            raise ValidationFailed(errors)
        limit = limit or DEFAULT_LIMIT

        def matches(flow: DigaFlow) -> bool:
            return (
                (status is None or flow.status == status)
                and (category is None or flow.flow_category == category)
                and (diga_trigger is None or _is_diga_trigger(flow) == diga_trigger)
            )

        ordered = self.flows.order(_created_key)
        filtered = status is not None or category is not None or diga_trigger is not None
        total = (
            sum(1 for key in ordered if matches(self.flows.items[key]))
            if filtered
            else len(ordered)
        )
        current_page: int | None = None
        if before is not None:
            start = self.flows.position(before, _created_key) or 0
            earlier = list(self._matching(reversed(ordered[:start]), matches, limit + 1))
            has_more = len(earlier) > limit
            chosen = list(reversed(earlier[:limit]))
        else:
            if after is not None:
                position = self.flows.position(after, _created_key)
                candidates = ordered[(position or 0) + 1 :]
                skip = 0
            else:
                current_page = page or 1
                candidates = ordered
                skip = (current_page - 1) * limit
            found = list(self._matching(iter(candidates), matches, skip + limit + 1))[skip:]
            has_more = len(found) > limit
            chosen = found[:limit]
        data = [flow.to_api() for flow in chosen]
        return {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "current_page": current_page,
            "total_pages": math.ceil(total / limit),
        }

    def _matching(self, keys: Iterator[str], matches: Any, wanted: int) -> Iterator[DigaFlow]:
        count = 0
        for key in keys:
            if count >= wanted:
                return
            flow = self.flows.items[key]
            if matches(flow):
                count += 1
                yield flow

    @staticmethod
    def _bool_param(raw: str | None, errors: list[dict[str, Any]]) -> bool | None:
        if raw is None:
            return None
        truthy, falsy = ("1", "true", "t", "yes", "y", "on"), ("0", "false", "f", "no", "n", "off")
        if raw.lower() in truthy + falsy:
            return raw.lower() in truthy
        errors.append(
            validation.error(
                "bool_parsing",
                ["query", "is_diga_trigger"],
                "Input should be a valid boolean, unable to interpret input",
                raw,
            )
        )
        return None


def _is_diga_trigger(flow: DigaFlow) -> bool:
    settings = (flow.trigger or {}).get("settings") or {}
    return str(settings.get("pieceName", "")).startswith("@diga/")
