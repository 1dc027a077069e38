"""Bitrix24 REST: the `tasks.flow.Flow.*` methods, `batch`, the leaky bucket, webhook and
OAuth authentication, and a stand-in for oauth.bitrix.info's token renewal.

`activate` is a toggle that answers only `{"result": true}`; flow errors are HTTP 400 with
`"error": "0"`; every answer carries the `time` block.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowtui.emulator import phpquery, seed
from flowtui.emulator.clock import epoch_s, utcnow
from flowtui.emulator.config import BITRIX24_CLIENT_ID, BITRIX24_WEBHOOK_USER
from flowtui.emulator.faults import mark_applied
from flowtui.emulator.limits import LeakyBucket
from flowtui.emulator.state import BitrixFlow, OrderedStore
from flowtui.emulator.tokens import TokenCheck, TokenRegistry, opaque

if TYPE_CHECKING:
    from flowtui.emulator.runtime import Emulator

BATCH_LIMIT = 50
REFRESH_TTL_S = 180 * 86400
DISTRIBUTION_TYPES = ("manually", "queue", "himself")
REQUIRED_FIELDS = ("plannedCompletionTime", "distributionType", "responsibleList")
UPDATABLE = (
    "name",
    "description",
    "groupId",
    "ownerId",
    "templateId",
    "plannedCompletionTime",
    "distributionType",
    "responsibleList",
    "taskCreators",
    "team",
    "matchWorkTime",
    "responsibleCanChangeDeadline",
    "notifyAtHalfTime",
    "taskControl",
    "notifyOnQueueOverflow",
    "notifyOnTasksInProgressOverflow",
    "notifyWhenEfficiencyDecreases",
)
FLAGS = ("matchWorkTime", "responsibleCanChangeDeadline", "notifyAtHalfTime", "taskControl")


class Failure(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _flow_error(description: str) -> Failure:
    return Failure(400, "0", description)


def time_block(started: float) -> dict[str, Any]:
    finished = time.time()

    def stamp(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

    return {
        "start": started,
        "finish": finished,
        "duration": finished - started,
        "processing": finished - started,
        "date_start": stamp(started),
        "date_finish": stamp(finished),
        "operating_reset_at": int(started) + 600,
        "operating": 0,
    }


def _php_array(values: dict[str, Any], list_like: bool) -> Any:
    """How PHP's json_encode writes an array: [] when empty, a list when keys are 0..n-1."""
    if not values:
        return []
    if list_like and list(values) == [str(i) for i in range(len(values))]:
        return list(values.values())
    return values


def _int_param(params: dict[str, Any], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, TypeError, ValueError):
        raise _flow_error(f'Invalid value of parameter "{name}"') from None


def _flow_data(params: dict[str, Any]) -> dict[str, Any]:
    data = params.get("flowData")
    if not isinstance(data, dict):
        raise _flow_error('Invalid value of parameter "flowData"')
    return data


def _method_name(raw: str) -> str:
    name = raw.lower()
    return name.removesuffix(".json")


class Bitrix24:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.flows: OrderedStore[BitrixFlow] = OrderedStore()
        self.tokens = TokenRegistry()
        self.bucket = LeakyBucket()
        self.methods: dict[str, Callable[[Request, dict[str, Any]], Any]] = {
            "tasks.flow.flow.get": self.get,
            "tasks.flow.flow.create": self.create,
            "tasks.flow.flow.update": self.update,
            "tasks.flow.flow.delete": self.delete,
            "tasks.flow.flow.isexists": self.is_exists,
            "tasks.flow.flow.activate": self.activate,
            "tasks.flow.flow.pin": self.pin,
        }

    # -- platform protocol ------------------------------------------------------------------

    def reset(self, flows: int, seed_value: int, options: dict[str, Any]) -> None:
        self.flows = OrderedStore()
        for flow in seed.bitrix24_flows(flows, seed_value):
            self.flows.add(flow.id, flow)
        self.bucket = LeakyBucket()
        config, now = self.emulator.config, epoch_s()
        self.tokens.clear()
        self.tokens.add(config.token, "access", now + self.emulator.faults["bitrix24"].token_ttl_s)
        self.tokens.add(config.bitrix24_refresh_token, "refresh", now + REFRESH_TTL_S)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/token/", self.oauth_token, methods=["GET", "POST"]),
            Route("/rest/{user}/{code}/{method}", self.webhook_call, methods=["GET", "POST"]),
            Route("/rest/{method}", self.oauth_call, methods=["GET", "POST"]),
        ]

    def server_error(self) -> Response:
        failure = Failure(500, "INTERNAL_SERVER_ERROR", "Internal server error")
        return JSONResponse({**failure.body(), "time": time_block(time.time())}, 500)

    def http_error(self, status: int) -> Response:
        failure = Failure(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return JSONResponse({**failure.body(), "time": time_block(time.time())}, 404)

    def to_raw(self) -> dict[str, Any]:
        return {
            "flows": [self.flows.items[k].to_raw() for k in sorted(self.flows.items)],
            "tokens": self.tokens.to_raw(epoch_s()),
            "bucket": {"level": self.bucket.level},
        }

    def set_flow(self, flow_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        flow = self.flows.items.get(int(flow_id)) if flow_id.isdigit() else None
        if flow is None:
            return None
        for name, value in changes.items():
            if name == "active":
                flow.fields["active"] = bool(value)
            elif name == "name":
                flow.fields["name"] = str(value)
            else:
                raise ValueError(f"bitrix24 flows have no settable field {name!r}")
        flow.fields["activity"] = utcnow().isoformat(timespec="seconds")
        return flow.to_raw()

    def expire_tokens(self) -> int:
        return self.tokens.expire_access(epoch_s())

    # -- entry points ---------------------------------------------------------------------------

    async def webhook_call(self, request: Request) -> Response:
        params = request.path_params
        valid = params["user"] == str(BITRIX24_WEBHOOK_USER) and (
            params["code"] == self.emulator.config.token
        )
        return await self._call(request, None if valid else _no_auth())

    async def oauth_call(self, request: Request) -> Response:
        return await self._call(request, self._oauth_failure(request, await _params(request)))

    async def _call(self, request: Request, auth_failure: Failure | None) -> Response:
        started = time.time()
        try:
            faults = self.emulator.faults["bitrix24"]
            if faults.overload_limit:
                raise Failure(503, "OVERLOAD_LIMIT", "REST API is blocked due to overload")
            if not self.bucket.admit(faults.bucket_drain_per_s, faults.bucket_threshold):
                raise Failure(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
            if auth_failure is not None:
                raise auth_failure
            params = await _params(request)
            method = _method_name(request.path_params["method"])
            if method == "batch":
                result = self._batch(request, params)
            else:
                result = self._run(request, method, params)
        except Failure as failure:
            return JSONResponse({**failure.body(), "time": time_block(started)}, failure.status)
        return JSONResponse({"result": result, "time": time_block(started)})

    def _oauth_failure(self, request: Request, params: dict[str, Any]) -> Failure | None:
        token = params.get("auth")
        if not token:
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            token = bearer if scheme.lower() == "bearer" else ""
        check = self.tokens.check(str(token), "access", epoch_s())
        if check is TokenCheck.VALID:
            return None
        if check is TokenCheck.EXPIRED:
            return Failure(401, "expired_token", "The access token provided has expired.")
        return _no_auth()

    def _run(self, request: Request, method: str, params: dict[str, Any]) -> Any:
        handler = self.methods.get(method)
        if handler is None:
            raise Failure(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        return handler(request, params)

    def _batch(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        commands = params.get("cmd")
        if isinstance(commands, list):
            commands = {str(index): command for index, command in enumerate(commands)}
            list_like = True
        elif isinstance(commands, dict):
            list_like = False
        else:
            raise Failure(400, "INVALID_ARG_VALUE", "Parameter 'cmd' is required")
        if len(commands) > BATCH_LIMIT:
            raise Failure(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        parsed = {}
        for key, command in commands.items():
            method, _, query = str(command).partition("?")
            parsed[key] = (_method_name(method), phpquery.parse(query))
            if parsed[key][0] == "batch":
                raise Failure(
                    405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"
                )
        halt = str(params.get("halt", "0")).lower() in ("1", "true", "y")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        times: dict[str, Any] = {}
        for key, (method, sub_params) in parsed.items():
            started = time.time()
            try:
                results[key] = self._run(request, method, sub_params)
                times[key] = time_block(started)
            except Failure as failure:
                errors[key] = failure.body()
                if halt:
                    break
        return {
            "result": _php_array(results, list_like),
            "result_error": _php_array(errors, list_like),
            "result_total": [],
            "result_next": [],
            "result_time": _php_array(times, list_like),
        }

    async def oauth_token(self, request: Request) -> Response:
        params = await _params(request)
        if params.get("grant_type") != "refresh_token":
            return _oauth_error(400, "invalid_request", "grant_type must be refresh_token")
        config = self.emulator.config
        if (
            params.get("client_id") != BITRIX24_CLIENT_ID
            or params.get("client_secret") != config.bitrix24_client_secret
        ):
            return _oauth_error(401, "invalid_client", "Invalid client credentials")
        if not self.tokens.use_refresh(str(params.get("refresh_token", "")), epoch_s()):
            return _oauth_error(400, "invalid_grant", "Invalid refresh token")
        now = epoch_s()
        ttl = self.emulator.faults["bitrix24"].token_ttl_s
        access, refresh = opaque(70), opaque(70)
        self.tokens.add(access, "access", now + ttl)
        self.tokens.add(refresh, "refresh", now + REFRESH_TTL_S)
        portal = f"{request.base_url.scheme}://{request.base_url.netloc}/bitrix24"
        return JSONResponse(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires": int(now + ttl),
                "expires_in": int(ttl),
                "client_endpoint": f"{portal}/rest/",
                "server_endpoint": f"{portal}/oauth/rest/",
                "domain": request.base_url.netloc,
                "member_id": hashlib.md5(config.token.encode()).hexdigest(),
                "scope": "task",
                "status": "L",
                "user_id": BITRIX24_WEBHOOK_USER,
            }
        )

    # -- tasks.flow.Flow.* ------------------------------------------------------------------

    def _flow(self, flow_id: int) -> BitrixFlow:
        flow = self.flows.items.get(flow_id)
        if flow is None:
            raise _flow_error("Flow not found")
        return flow

    def get(self, request: Request, params: dict[str, Any]) -> Any:
        return self._flow(_int_param(params, "flowId")).to_api()

    def activate(self, request: Request, params: dict[str, Any]) -> Any:
        flow = self._flow(_int_param(params, "flowId"))
        flow.fields["active"] = not flow.fields["active"]
        flow.fields["activity"] = utcnow().isoformat(timespec="seconds")
        mark_applied(request)
        return True

    def pin(self, request: Request, params: dict[str, Any]) -> Any:
        flow = self._flow(_int_param(params, "flowId"))
        flow.pinned = not flow.pinned
        mark_applied(request)
        return flow.pinned

    def is_exists(self, request: Request, params: dict[str, Any]) -> Any:
        data = _flow_data(params)
        if not data.get("name"):
            raise _flow_error("'name': field's value has an invalid value")
        return {"exists": self._name_taken(str(data["name"]), data.get("id"))}

    def create(self, request: Request, params: dict[str, Any]) -> Any:
        data = _flow_data(params)
        self._validate(data, required=("name", *REQUIRED_FIELDS), own_id=None)
        flow_id = max(self.flows.items, default=seed.BITRIX24_FIRST_FLOW_ID - 1) + 1
        fields = seed.bitrix24_flow_fields(flow_id, data, active=True, activity=utcnow())
        self.flows.add(flow_id, BitrixFlow(fields=fields))
        mark_applied(request)
        return fields

    def update(self, request: Request, params: dict[str, Any]) -> Any:
        data = _flow_data(params)
        flow = self._flow(_int_param(data, "id"))
        self._validate(data, required=REQUIRED_FIELDS, own_id=flow.id)
        for name in UPDATABLE:
            if name in data:
                value = data[name]
                flow.fields[name] = seed.flag(value, False) if name in FLAGS else value
        mark_applied(request)
        return flow.to_api()

    def delete(self, request: Request, params: dict[str, Any]) -> Any:
        flow = self._flow(_int_param(_flow_data(params), "id"))
        self.flows.remove(flow.id)
        mark_applied(request)
        return {"deleted": True}

    def _validate(
        self, data: dict[str, Any], required: tuple[str, ...], own_id: int | None
    ) -> None:
        for name in required:
            if data.get(name) in (None, "", []):
                raise _flow_error(f"'{name}': field's value has an invalid value")
        if data.get("distributionType") not in (None, *DISTRIBUTION_TYPES):
            raise _flow_error("'distributionType': field's value has an invalid value")
        if "name" in data and self._name_taken(str(data["name"]), own_id):
            raise _flow_error("A flow with this name already exists")

    def _name_taken(self, name: str, own_id: Any) -> bool:
        return any(
            flow.fields["name"] == name and str(flow.id) != str(own_id)
            for flow in self.flows.items.values()
        )


def _no_auth() -> Failure:
    return Failure(401, "NO_AUTH_FOUND", "Wrong authorization data")


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


async def _params(request: Request) -> dict[str, Any]:
    """Query parameters, then the body (JSON, or a form) on top, read PHP-style."""
    params = phpquery.parse(request.url.query)
    raw = await request.body()
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = phpquery.parse(raw.decode(errors="replace"))
        if isinstance(body, dict):
            params.update(body)
    return params
