"""The emulator's admin API, under `/_emulator` (JSON in, JSON out; no auth).

Tests, the demo and the benchmarks drive the emulator through it. Platforms are named
`diga`, `gassapi`, `runflow`, `bitrix24`. Errors answer `{"error": "<one line>"}` with
400 (bad JSON), 404 (unknown platform or flow) or 422 (bad field or value).

`POST /_emulator/reset`  body (all optional) `{"flows": N, "seed": S, "gassapi_big_project": M}`
    Re-seeds every platform with N flows each (default: the server's start-up values),
    restores default faults and limits, clears the request log, releases requests held by
    `drop_after_apply`, and restores the start-up credentials (the GASSAPI access token is
    valid for its TTL from now, the initial GASSAPI and Bitrix24 refresh tokens work again;
    every token issued since is forgotten). The same (N, S) always gives the same ids,
    names and states. GASSAPI spreads N flows round-robin over max(2, ceil(N/50)) member
    projects, adds one project the user is not a member of (2 flows, answers 403) and, with
    M > 0, a member project holding M more flows (M > 100 shows the silent truncation).
    Answers `{"flows": N, "seed": S}`.

`GET /_emulator/state` → `{"diga": {...}, "gassapi": {...}, "runflow": {...}, "bitrix24": {...}}`;
`GET /_emulator/state/{platform}` → one of them. Raw state, flows newest first:
    diga      `{"flows": [FlowAllResponse fields + "published"]}`
    gassapi   `{"projects": [{id, name, member}], "flows": [flow row + folder_name + "running"],
               "tokens": [...]}`
    runflow   `{"org_id", "other_org_id", "flows": [full flow]}`
    bitrix24  `{"flows": [Flow.get fields + "pinned"], "tokens": [...], "bucket": {"level"}}`
    Tokens are listed as `{"fingerprint", "kind": "access"|"refresh", "active", "valid",
    "expires_at"}`; the fingerprint is the first 12 hex chars of sha256(token), so a test
    can tell which token it is without the state revealing any.

`GET /_emulator/requests[?platform=P]` → `{"requests": [{"method", "path", "query",
    "platform", "status", "duration_ms", "dropped", "applied", "at"}]}` oldest first (admin
    calls are not logged; a Bitrix24 webhook code and `auth`/`refresh_token`/`client_secret`
    query values are replaced by `***`). `dropped` is true when the answer was lost on
    purpose; `applied` counts the changes the request made (each activate of a Bitrix24
    `batch` counts).
    `DELETE /_emulator/requests` clears the log.

`GET /_emulator/faults` → every platform's faults; `GET|PUT /_emulator/faults/{platform}`
    reads or changes some of one platform's fields (PUT answers the full set):
    all platforms:
      `latency_ms`         added before each request is handled (default: the start-up
                           latency, `flowtui emulate --latency`)
      `error_rate`         0..1 share of requests answered with a 5xx before being handled
                           (randomness from an RNG seeded by the reset seed)
      `burst_5xx`          the next N requests get a 5xx (nothing applied)
      `drop_after_apply`   the next N mutating requests are applied but their answer is
                           lost: the server holds the request open without answering until
                           the client disconnects (its read timeout). A client still waiting
                           when the emulator is reset or stopped, or after 120 s, gets the
                           platform's 5xx instead. A request is mutating when the
                           platform accepted a change (create, status change, publish,
                           toggle, activate, update, delete, pin), even if the value did
                           not change. Use a client timeout of well under a second.
    gassapi:  `other_error_shape_rate` (0..1 share of errors sent as
              `{"status": "error", "message": <raw message>}`), `token_ttl_s` (new tokens)
    runflow:  `rate_limit_per_s` (per organisation; null: no limit, the default unless
              started with `--runflow-limit`), `rate_limit_burst` (default 20),
              `retry_after_s` (seconds sent in `Retry-After` on 429; null: no header)
    bitrix24: `bucket_drain_per_s` (default 2), `bucket_threshold` (default 50),
              `token_ttl_s` (OAuth access tokens issued from now on; default 3600),
              `overload_limit` (true: every REST call gets 503 `OVERLOAD_LIMIT`, the
              manual block that retrying does not lift, until set back to false)
    The 5xx bodies: diga 503 `WORKFLOW_SERVICE_UNAVAILABLE`; gassapi 500 envelope
    "Internal server error"; runflow 503 `SERVICE_UNAVAILABLE`; bitrix24 500
    `INTERNAL_SERVER_ERROR`.

`POST /_emulator/{platform}/flows/{id}` body: fields to change as "someone else" would;
    answers the raw flow. `updated` / `updated_at` moves forward.
    diga      `active` (bool → status), `status` ("ENABLED"|"DISABLED"|null), `published`, `name`
    gassapi   `active` or `is_active` (bool/0/1), `running` (bool), `name`
    runflow   `active` (bool → "active"/"inactive"), `status_code` (any string), `name`
    bitrix24  `active` (bool), `name`

`/_emulator/webhooks[/{name}]`: a webhook sink that records the notifications posted to it
    (Slack-like `ok` answers, or failures and hangs on request); see webhooks.py.

`POST /_emulator/{platform}/expire-tokens` → `{"expired": n}`: every access token issued so
    far (GASSAPI JWTs, Bitrix24 OAuth tokens) now answers as expired. Refresh tokens keep
    working. 422 for diga and runflow, whose API keys do not expire.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from flowtui.emulator.runtime import Emulator, Platform


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "body must be a JSON object")
    return body


class Admin:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[Route]:
        return [
            Route("/reset", self.reset, methods=["POST"]),
            Route("/state", self.state, methods=["GET"]),
            Route("/state/{platform}", self.state, methods=["GET"]),
            Route("/requests", self.requests, methods=["GET", "DELETE"]),
            Route("/faults", self.faults, methods=["GET"]),
            Route("/faults/{platform}", self.faults, methods=["GET", "PUT"]),
            Route("/{platform}/flows/{flow_id}", self.set_flow, methods=["POST"]),
            Route("/{platform}/expire-tokens", self.expire_tokens, methods=["POST"]),
        ]

    def _platform(self, request: Request) -> tuple[str, Platform]:
        name = request.path_params["platform"]
        if name not in self.emulator.platforms:
            raise BadRequest(404, f"unknown platform {name!r}")
        return name, self.emulator.platforms[name]

    async def reset(self, request: Request) -> JSONResponse:
        try:
            body = await _body(request)
        except BadRequest as bad:
            return _error(bad.status, str(bad))
        flows = body.get("flows", self.emulator.config.flows)
        seed = body.get("seed", self.emulator.config.seed)
        big = body.get("gassapi_big_project", self.emulator.config.gassapi_big_project)
        unknown = set(body) - {"flows", "seed", "gassapi_big_project"}
        for value in (flows, seed, big):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return _error(422, "flows, seed and gassapi_big_project are whole numbers >= 0")
        if unknown:
            return _error(422, f"unknown reset field {sorted(unknown)[0]!r}")
        self.emulator.reset(flows, seed, {"gassapi_big_project": big})
        return JSONResponse({"flows": flows, "seed": seed})

    async def state(self, request: Request) -> JSONResponse:
        if "platform" not in request.path_params:
            return JSONResponse({name: p.to_raw() for name, p in self.emulator.platforms.items()})
        try:
            _, platform = self._platform(request)
        except BadRequest as bad:
            return _error(bad.status, str(bad))
        return JSONResponse(platform.to_raw())

    async def requests(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            self.emulator.log.entries.clear()
            return JSONResponse({"requests": []})
        wanted = request.query_params.get("platform")
        entries = [e for e in self.emulator.log.entries if wanted in (None, e["platform"])]
        return JSONResponse({"requests": entries})

    async def faults(self, request: Request) -> JSONResponse:
        faults = self.emulator.faults
        if "platform" not in request.path_params:
            return JSONResponse(
                {name: faults[name].to_dict(name) for name in self.emulator.platforms}
            )
        try:
            name, _ = self._platform(request)
            if request.method == "PUT":
                faults[name].update(name, await _body(request))
        except BadRequest as bad:
            return _error(bad.status, str(bad))
        except ValueError as bad:
            return _error(422, str(bad))
        return JSONResponse(faults[name].to_dict(name))

    async def set_flow(self, request: Request) -> JSONResponse:
        try:
            name, platform = self._platform(request)
            changes = await _body(request)
            flow = platform.set_flow(request.path_params["flow_id"], changes)
        except BadRequest as bad:
            return _error(bad.status, str(bad))
        except ValueError as bad:
            return _error(422, str(bad))
        if flow is None:
            return _error(404, f"{name} has no flow {request.path_params['flow_id']!r}")
        return JSONResponse(flow)

    async def expire_tokens(self, request: Request) -> JSONResponse:
        try:
            _, platform = self._platform(request)
            expired = platform.expire_tokens()
        except BadRequest as bad:
            return _error(bad.status, str(bad))
        except ValueError as bad:
            return _error(422, str(bad))
        return JSONResponse({"expired": expired})
