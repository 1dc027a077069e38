"""GASSAPI (martin-1103/gassapi2) flow endpoints, routed the way its `index.php` routes.

One entry point: `?act=<action>&id=<id>`. The action only becomes a path (`flow_update` →
`/flow/{id}`); the HTTP method then picks the handler, so `act=flow` with PUT updates and
`act=flow_update` with GET reads. Answers use the `{success, status_code, message,
timestamp, request_id, data}` envelope, with messages rewritten by status; a configurable
share of errors comes in the documented `{"status": "error", "message"}` shape instead.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowtui.emulator import seed
from flowtui.emulator.clock import epoch_s, later_than, mysql_datetime, utcnow
from flowtui.emulator.config import GASSAPI_EMAIL
from flowtui.emulator.faults import mark_applied
from flowtui.emulator.state import GassFlow, GassProject, OrderedStore
from flowtui.emulator.tokens import TokenCheck, TokenRegistry, jwt_like

if TYPE_CHECKING:
    from flowtui.emulator.runtime import Emulator

LIST_LIMIT = 100
RUNNING = "Cannot toggle status: Flow is currently being executed"
REWRITES = {
    400: "Invalid request: {}",
    401: "Authentication failed: {}",
    403: "Access denied: {}",
    404: "Not found: {}",
    422: "Validation failed: {}",
}
VERBATIM = frozenset({"Forbidden", "Access denied", "Project not found"})
UPDATABLE = ("name", "description", "folder_id", "flow_data", "flow_inputs", "ui_data")

ACT_PATHS = {
    "flows": "/project/{id}/flows",
    "flow_list": "/project/{id}/flows",
    "flows_active": "/project/{id}/flows/active",
    "flow": "/flow/{id}",
    "flow_get": "/flow/{id}",
    "flow_create": "/project/{id}/flows",
    "flow_update": "/flow/{id}",
    "flow_delete": "/flow/{id}",
    "flow_toggle_active": "/flow/{id}/toggle-active",
    "flow_activate": "/flow/{id}/activate",
    "flow_deactivate": "/flow/{id}/deactivate",
    "projects": "/projects",
    "login": "/login",
    "refresh": "/refresh",
}
PUBLIC_ACTIONS = frozenset({"login", "refresh"})


class Failure(Exception):
    """An error answer: HTTP status and the handler's raw (not yet rewritten) message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def php_truthy(value: Any) -> bool:
    """How PHP casts a JSON value to bool (`"0"` and `""` are false, `"false"` is true)."""
    return value not in (None, False, 0, 0.0, "", "0", [], {})


def _by_created(flow: GassFlow) -> tuple[Any, str]:
    return flow.created_at, flow.id


Handler = Callable[[Request, str, dict[str, Any]], Awaitable[tuple[int, str, Any]]]


class Gassapi:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.projects: dict[str, GassProject] = {}
        self.flows: OrderedStore[GassFlow] = OrderedStore()
        self.tokens = TokenRegistry()
        self.routing: dict[str, list[tuple[re.Pattern[str], Handler]]] = {
            "GET": [
                (re.compile(r"/project/([^/]+)/flows"), self.list_flows),
                (re.compile(r"/project/([^/]+)/flows/active"), self.list_active),
                (re.compile(r"/flow/([^/]+)"), self.get_flow),
                (re.compile(r"/flow/([^/]+)/activate"), self.activate),
                (re.compile(r"/flow/([^/]+)/deactivate"), self.deactivate),
                (re.compile(r"/projects"), self.list_projects),
            ],
            "POST": [
                (re.compile(r"/project/([^/]+)/flows"), self.create_flow),
                (re.compile(r"/login"), self.login),
                (re.compile(r"/refresh"), self.refresh),
            ],
            "PUT": [
                (re.compile(r"/flow/([^/]+)"), self.update_flow),
                (re.compile(r"/flow/([^/]+)/toggle-active"), self.toggle),
                (re.compile(r"/flow/([^/]+)/activate"), self.activate),
                (re.compile(r"/flow/([^/]+)/deactivate"), self.deactivate),
            ],
            "DELETE": [(re.compile(r"/flow/([^/]+)"), self.delete_flow)],
        }

    # -- platform protocol ------------------------------------------------------------------

    def reset(self, flows: int, seed_value: int, options: dict[str, Any]) -> None:
        projects, rows = seed.gassapi_data(flows, seed_value, options.get("gassapi_big_project", 0))
        self.projects = {project.id: project for project in projects}
        self.flows = OrderedStore()
        for row in rows:
            self.flows.add(row.id, row)
        config, now = self.emulator.config, epoch_s()
        self.tokens.clear()
        self.tokens.add(config.token, "access", now + self.emulator.faults["gassapi"].token_ttl_s)
        self.tokens.add(config.gassapi_refresh_token, "refresh", now + config.gassapi_refresh_ttl_s)

    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        return [Route("/", self.dispatch, methods=methods)]

    def server_error(self) -> Response:
        return self._envelope(500, "Internal server error", None)

    def http_error(self, status: int) -> Response:
        return self._envelope(404, "Not found: Route not found", None)

    def to_raw(self) -> dict[str, Any]:
        return {
            "projects": [{**p.to_api(), "member": p.member} for p in self.projects.values()],
            "flows": [self.flows.items[k].to_raw() for k in self.flows.order(_by_created)],
            "tokens": self.tokens.to_raw(epoch_s()),
        }

    def set_flow(self, flow_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        flow = self.flows.items.get(flow_id)
        if flow is None:
            return None
        for name, value in changes.items():
            if name in ("active", "is_active"):
                flow.is_active = int(php_truthy(value))
            elif name == "running":
                flow.running = bool(value)
            elif name == "name":
                flow.name = str(value)
            else:
                raise ValueError(f"gassapi flows have no settable field {name!r}")
        flow.updated_at = later_than(flow.updated_at)
        return flow.to_raw()

    def expire_tokens(self) -> int:
        return self.tokens.expire_access(epoch_s())

    # -- answers ------------------------------------------------------------------------------

    def _envelope(self, status: int, message: str, data: Any) -> JSONResponse:
        body: dict[str, Any] = {
            "success": status < 400,
            "status_code": status,
            "message": message,
            "timestamp": mysql_datetime(utcnow()),
            "request_id": "req_" + secrets.token_hex(7)[:13],
        }
        if data is not None:
            body["data"] = data
        return JSONResponse(body, status_code=status)

    def _failure(self, failure: Failure) -> JSONResponse:
        share = self.emulator.faults["gassapi"].other_error_shape_rate
        if share and self.emulator.rng.random() < share:
            return JSONResponse(
                {"status": "error", "message": failure.message}, status_code=failure.status
            )
        message = failure.message
        if failure.status in REWRITES and message not in VERBATIM:
            message = REWRITES[failure.status].format(message)
        return self._envelope(failure.status, message, None)

    # -- routing ------------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        act = request.query_params.get("act", "")
        object_id = request.query_params.get("id", "")
        try:
            path = ACT_PATHS.get(act)
            if path is None:
                raise Failure(400, "Invalid action")
            body = await _body(request)
            method = _effective_method(request, body)
            routes = self.routing.get(method)
            if routes is None:
                raise Failure(404, "Method not allowed")
            path = path.replace("{id}", object_id)
            handler, argument = _match(routes, path)
            if act not in PUBLIC_ACTIONS:
                self._authenticate(request)
            status, message, data = await handler(request, argument, body)
        except Failure as failure:
            return self._failure(failure)
        return self._envelope(status, message, data)

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or (
            self.tokens.check(token.strip(), "access", epoch_s()) is not TokenCheck.VALID
        ):
            raise Failure(401, "Authentication required")

    def _member_project(self, project_id: str) -> GassProject:
        project = self.projects.get(project_id)
        if project is None:
            raise Failure(404, "Project not found")
        if not project.member:
            raise Failure(403, "Forbidden")
        return project

    def _flow(self, flow_id: str) -> GassFlow:
        flow = self.flows.items.get(flow_id)
        if flow is None:
            raise Failure(404, "Flow not found")
        self._member_project(flow.project_id)
        return flow

    def _project_rows(self, project_id: str, active_only: bool) -> list[dict[str, Any]]:
        self._member_project(project_id)
        rows = []
        for key in self.flows.order(_by_created):
            flow = self.flows.items[key]
            if flow.project_id == project_id and (flow.is_active or not active_only):
                rows.append(flow.to_api())
                if len(rows) == LIST_LIMIT:
                    break
        return rows

    # -- handlers: (request, id from the path, body) → (status, message, data) ---------------

    async def list_flows(self, request: Request, project_id: str, body: dict[str, Any]) -> Any:
        return 200, "Flows retrieved successfully", self._project_rows(project_id, False)

    async def list_active(self, request: Request, project_id: str, body: dict[str, Any]) -> Any:
        return 200, "Active flows retrieved successfully", self._project_rows(project_id, True)

    async def list_projects(self, request: Request, _: str, body: dict[str, Any]) -> Any:
        projects = [p.to_api() for p in self.projects.values() if p.member]
        return 200, "Projects retrieved successfully", projects

    async def get_flow(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        return 200, "Flow retrieved successfully", self._flow(flow_id).to_api(with_folder=True)

    async def create_flow(self, request: Request, project_id: str, body: dict[str, Any]) -> Any:
        self._member_project(project_id)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise Failure(400, "Flow name is required")
        taken = any(
            f.project_id == project_id and f.name == name for f in self.flows.items.values()
        )
        if taken:
            raise Failure(409, "Flow name already exists in this project")
        flow_id = "flow_" + secrets.token_hex(8)
        flow = seed.gassapi_new_flow(flow_id, project_id, body, utcnow())
        self.flows.add(flow_id, flow)
        mark_applied(request)
        return 201, "Flow created successfully", flow.to_api()

    async def update_flow(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        flow = self._flow(flow_id)
        changes = {k: v for k, v in body.items() if k in (*UPDATABLE, "is_active")}
        if not changes:
            raise Failure(400, "No valid fields to update")
        if "is_active" in changes and flow.running:
            raise Failure(409, RUNNING)
        for name, value in changes.items():
            if name == "is_active":
                flow.is_active = int(php_truthy(value))
            elif name in ("name", "description"):
                setattr(flow, name, str(value))
            elif name == "folder_id":
                flow.folder_id = value
            else:
                setattr(flow, name, seed.json_text(value, getattr(flow, name)))
        flow.updated_at = later_than(flow.updated_at)
        mark_applied(request)
        return 200, "Flow updated successfully", flow.to_api(with_folder=True)

    async def delete_flow(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        self._flow(flow_id)
        self.flows.remove(flow_id)
        mark_applied(request)
        return 200, "Flow deleted successfully", None

    async def toggle(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        flow = self._flow(flow_id)
        if flow.running:
            raise Failure(409, RUNNING)
        flow.is_active = 0 if flow.is_active else 1
        flow.updated_at = later_than(flow.updated_at)
        mark_applied(request)
        message = "Flow activated" if flow.is_active else "Flow deactivated"
        return 200, message, flow.to_api(with_folder=True)

    async def activate(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        return self._set_active(request, flow_id, 1, "Flow activated successfully")

    async def deactivate(self, request: Request, flow_id: str, body: dict[str, Any]) -> Any:
        return self._set_active(request, flow_id, 0, "Flow deactivated successfully")

    def _set_active(self, request: Request, flow_id: str, value: int, message: str) -> Any:
        flow = self._flow(flow_id)
        if flow.running:
            raise Failure(409, RUNNING)
        flow.is_active = value
        flow.updated_at = later_than(flow.updated_at)
        mark_applied(request)
        return 200, message, flow.to_api(with_folder=True)

    async def login(self, request: Request, _: str, body: dict[str, Any]) -> Any:
        config = self.emulator.config
        if body.get("email") != GASSAPI_EMAIL or body.get("password") != config.gassapi_password:
            raise Failure(401, "Invalid email or password")
        return 200, "Login successful", {**self._issue_pair(), "user": _user()}

    async def refresh(self, request: Request, _: str, body: dict[str, Any]) -> Any:
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise Failure(400, "Refresh token is required")
        if not self.tokens.use_refresh(token, epoch_s()):
            raise Failure(401, "Invalid or expired refresh token")
        tokens = self._issue_pair()
        return 200, "Token refreshed successfully", {"user": _user(), "tokens": tokens}

    def _issue_pair(self) -> dict[str, Any]:
        now, config = epoch_s(), self.emulator.config
        ttl = self.emulator.faults["gassapi"].token_ttl_s
        claims = {"sub": seed.GASSAPI_USER_ID, "iat": int(now)}
        access = jwt_like({**claims, "exp": int(now + ttl), "type": "access"}, config.token)
        refresh = jwt_like(
            {**claims, "exp": int(now + config.gassapi_refresh_ttl_s), "type": "refresh"},
            config.token,
        )
        self.tokens.add(access, "access", now + ttl)
        self.tokens.add(refresh, "refresh", now + config.gassapi_refresh_ttl_s)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": int(ttl),
        }


def _user() -> dict[str, Any]:
    return {"id": seed.GASSAPI_USER_ID, "email": GASSAPI_EMAIL, "name": "Flow Operator"}


def _match(routes: list[tuple[re.Pattern[str], Handler]], path: str) -> tuple[Handler, str]:
    for pattern, handler in routes:
        found = pattern.fullmatch(path)
        if found:
            return handler, found.group(1) if found.groups() else ""
    raise Failure(404, "Route not found")


def _effective_method(request: Request, body: dict[str, Any]) -> str:
    """POST may act as another method via `_method` or `X-HTTP-Method-Override`."""
    method = request.method.upper()
    if method != "POST":
        return method
    override = request.headers.get("x-http-method-override") or body.get("_method")
    return str(override).upper() if override else method


async def _body(request: Request) -> dict[str, Any]:
    """The body as PHP would see it: a JSON object, or form fields; anything else is empty."""
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
