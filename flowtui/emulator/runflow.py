"""Runflow (api.runflow.io) flow endpoints: cursor lists, get, and PATCH guarded by
`updated_at`, with errors as `{code, message, errors[]}` and a per-organisation rate limit."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowtui.emulator import seed
from flowtui.emulator.clock import later_than
from flowtui.emulator.faults import mark_applied
from flowtui.emulator.limits import TokenBucket
from flowtui.emulator.state import OrderedStore, RunflowFlow

if TYPE_CHECKING:
    from flowtui.emulator.runtime import Emulator

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
TEXT_FIELDS = (
    "name",
    "description",
    "cover_url",
    "visibility_code",
    "source_visibility_code",
    "status_code",
)


class Failure(Exception):
    def __init__(
        self, status: int, code: str, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"code": self.code, "message": self.message, "errors": self.errors}
        return JSONResponse(body, status_code=self.status, headers=headers)


def _invalid(field: str, message: str) -> Failure:
    return Failure(422, "VALIDATION_ERROR", message, [{"field": field, "message": message}])


def _by_created(flow: RunflowFlow) -> tuple[str, str]:
    return flow.fields["created_at"], flow.id


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, offset = text.partition(":")
        if kind != "o" or int(offset) < 0:
            raise ValueError(text)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("pq", "pq is not a valid cursor") from None


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("updated_at", "updated_at must be an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _invalid("updated_at", "updated_at must carry a time zone")
    return moment


class Runflow:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.org_id, self.other_org_id = seed.runflow_org_ids()
        self.flows: OrderedStore[RunflowFlow] = OrderedStore()
        self.buckets: dict[str, TokenBucket] = {}

    # -- platform protocol ------------------------------------------------------------------

    def reset(self, flows: int, seed_value: int, options: dict[str, Any]) -> None:
        self.flows = OrderedStore()
        for flow in seed.runflow_flows(flows, seed_value, self.org_id):
            self.flows.add(flow.id, flow)
        self.buckets = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/flows", self.search_flows, methods=["GET"]),
            Route("/v1/flow-summaries", self.search_summaries, methods=["GET"]),
            Route("/v1/flows/{flow_id}", self.get_flow, methods=["GET"]),
            Route("/v1/flows/{flow_id}", self.update_flow, methods=["PATCH"]),
        ]

    def server_error(self) -> Response:
        return Failure(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable").response()

    def http_error(self, status: int) -> Response:
        if status == 405:
            return Failure(405, "METHOD_NOT_ALLOWED", "Method not allowed").response()
        return Failure(404, "NOT_FOUND", "Not found").response()

    def to_raw(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "other_org_id": self.other_org_id,
            "flows": [self.flows.items[k].to_raw() for k in self.flows.order(_by_created)],
        }

    def set_flow(self, flow_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        flow = self.flows.items.get(flow_id)
        if flow is None:
            return None
        for name, value in changes.items():
            if name == "active":
                flow.fields["status_code"] = "active" if value else "inactive"
            elif name in ("status_code", "name"):
                flow.fields[name] = value
            else:
                raise ValueError(f"runflow flows have no settable field {name!r}")
        flow.updated_at = later_than(flow.updated_at)
        return flow.to_raw()

    def expire_tokens(self) -> int:
        raise ValueError("runflow API keys do not expire")

    # -- gatekeeping ----------------------------------------------------------------------------

    def _admit(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != self.emulator.config.token:
            raise Failure(401, "UNAUTHORIZED", "Missing or invalid API key")
        org = request.headers.get("x-organization-id") or self.org_id
        if org != self.org_id:
            raise Failure(403, "PERMISSION_DENIED", "You are not a member of this organization")
        faults = self.emulator.faults["runflow"]
        rate = faults.rate_limit_per_s
        if rate is not None and not self.buckets.setdefault(org, TokenBucket()).take(
            rate, faults.rate_limit_burst
        ):
            raise Failure(429, "RATE_LIMITED", f"Rate limit exceeded: {rate:g} requests per second")

    def _answer(self, request: Request, produce: Any) -> Response:
        try:
            self._admit(request)
            return produce()
        except Failure as failure:
            headers = None
            retry_after = self.emulator.faults["runflow"].retry_after_s
            if failure.status == 429 and retry_after is not None:
                headers = {"Retry-After": str(retry_after)}
            return failure.response(headers)

    def _flow(self, request: Request) -> RunflowFlow:
        flow_id = request.path_params["flow_id"]
        try:
            uuid.UUID(flow_id)
        except ValueError:
            raise _invalid("id", "id must be a UUID") from None
        flow = self.flows.items.get(flow_id)
        if flow is None:
            raise Failure(404, "NOT_FOUND", "Flow not found")
        return flow

    # -- endpoints --------------------------------------------------------------------------

    async def search_flows(self, request: Request) -> Response:
        return self._answer(request, lambda: self._page(request, RunflowFlow.to_api))

    async def search_summaries(self, request: Request) -> Response:
        return self._answer(request, lambda: self._page(request, RunflowFlow.to_summary))

    async def get_flow(self, request: Request) -> Response:
        return self._answer(request, lambda: JSONResponse(self._flow(request).to_api()))

    async def update_flow(self, request: Request) -> Response:
        raw = await request.body()
        return self._answer(request, lambda: self._patch(request, raw))

    def _page(self, request: Request, shape: Any) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            raise _invalid("limit", "limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"limit must be between 1 and {MAX_LIMIT}")
        offset = _decode_cursor(query["pq"]) if query.get("pq") else 0
        ordered = self.flows.order(_by_created)
        chosen = ordered[offset : offset + limit]
        fields = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
        items = []
        for key in chosen:
            item = shape(self.flows.items[key])
            items.append({f: item[f] for f in fields if f in item} if fields else item)
        end = offset + len(chosen)
        return JSONResponse(
            {
                "items": items,
                "next_pq": _encode_cursor(end) if end < len(ordered) else None,
                "prev_pq": _encode_cursor(max(0, offset - limit)) if offset > 0 else None,
            }
        )

    def _patch(self, request: Request, raw: bytes) -> Response:
        flow = self._flow(request)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise Failure(400, "BAD_REQUEST", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Failure(400, "BAD_REQUEST", "Request body must be a JSON object")
        for name in TEXT_FIELDS:
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise _invalid(name, f"{name} must be a string or null")
        context = body.get("context_variables")
        if context is not None and not isinstance(context, dict):
            raise _invalid("context_variables", "context_variables must be an object")
        stamp = body.get("updated_at")
        if stamp is not None:
            if not isinstance(stamp, str):
                raise _invalid("updated_at", "updated_at must be an ISO 8601 date-time")
            if _parse_time(stamp) != flow.updated_at:
                raise Failure(
                    409,
                    "CONFLICT",
                    "Flow was modified by another request; refetch it and retry",
                )
        for name in TEXT_FIELDS:
            if name in body:
                flow.fields[name] = body[name]
        if context is not None:
            flow.fields["context_variables"] = context
        flow.updated_at = later_than(flow.updated_at)
        mark_applied(request)
        return JSONResponse(flow.to_api())
