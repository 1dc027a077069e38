"""GASSAPI: `?act=` routing, a 0/1 `is_active`, a toggle that inverts, 15-minute JWTs.

By default the absolute `flow_activate`/`flow_deactivate` calls are used; an account with
`toggle_only` uses `flow_toggle_active` with read → compare → toggle → verify (the answer
carries the new state). 409 means the flow is running: a transient failure, never success.
A 401 renews the token pair (`POST ?act=refresh`, or the newer pair another process
stored: flowtui.providers.tokens) and sends again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from flowtui.model import State
from flowtui.providers.base import (
    AuthError,
    BaseProvider,
    ChangeResult,
    Conflict,
    Flow,
    OutcomeUnknown,
    PlatformError,
    state_from_flag,
    still_wanted,
)
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.providers.tokens import PairStore, RotatingCredentials, TokenPair
from flowtui.providers.transport import Transport, error_for_status, json_body

log = logging.getLogger(LOGGER_NAME)

LIST_CAP = 100  # the platform returns at most this many rows, without paging
TOGGLE_ROUNDS = 2  # a toggle that lands wrong (someone else toggled) gets one more try
UNKNOWN_ROUNDS = 3  # toggles whose answer was lost; each is re-read before another is sent
BUSY = "busy: the flow is running — retry later"


def envelope_data(response: httpx.Response) -> Any:
    """`data` of a successful envelope; a typed error for either error shape.

    Errors come as the envelope (`success: false`, `status_code`, `message`) or as
    `{"status": "error", "message": ...}`, occasionally with HTTP 200.
    """
    body = json_body(response) if response.content else {}
    if not isinstance(body, dict):
        if response.is_success:
            return body
        raise error_for_status(response.status_code, "")
    failed = body.get("success") is False or body.get("status") == "error"
    if response.is_success and not failed:
        return body.get("data")
    status = response.status_code
    if response.is_success:
        code = body.get("status_code")
        status = code if isinstance(code, int) and code >= 400 else 400
    message = str(body.get("message") or "")
    if status == 409:
        raise Conflict(f"{BUSY} ({message or 'HTTP 409'})")
    raise error_for_status(status, message)


class GassapiProvider(BaseProvider):
    kind = "gassapi"

    def __init__(
        self,
        account: str,
        transport: Transport,
        token: str,
        *,
        refresh_token: str | None = None,
        project_id: str | None = None,
        toggle_only: bool = False,
        store: PairStore | None = None,
    ) -> None:
        super().__init__(account, transport)
        self._project = project_id
        self._toggle_only = toggle_only
        seed = TokenPair(token, refresh_token)
        refresher = self._refresh if refresh_token else None
        self._creds = RotatingCredentials(seed, refresher, store, account=account)

    async def _call(
        self,
        method: str,
        act: str,
        flow_id: str | None = None,
        *,
        idempotent: bool = True,
        json: Any = None,
    ) -> Any:
        params = {"act": act} if flow_id is None else {"act": act, "id": flow_id}
        response = await self._creds.send(
            lambda pair: self._send(method, params, json, pair, idempotent),
            rejected=lambda answer: answer.status_code == 401,
        )
        return envelope_data(response)

    async def _send(
        self, method: str, params: dict[str, str], json: Any, pair: TokenPair, idempotent: bool
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {pair.access}"}
        return await self._http.request(
            method, "", params=params, json=json, headers=headers, idempotent=idempotent
        )

    async def _refresh(self, refresh_token: str) -> TokenPair:
        response = await self._http.request(
            "POST",
            "",
            params={"act": "refresh"},
            json={"refresh_token": refresh_token},
            # retrying is safe enough: an unanswered refresh either did not happen (the retry
            # succeeds) or spent the token (the retry fails, as giving up would have)
            idempotent=True,
        )
        try:
            data = envelope_data(response)
            tokens = data["tokens"]
            return TokenPair(str(tokens["access_token"]), tokens.get("refresh_token"))
        except (TypeError, KeyError) as exc:
            raise AuthError("token refresh answered without data.tokens") from exc
        except (AuthError, PlatformError) as exc:
            raise AuthError(f"token refresh failed: {exc}") from None

    def _flow(self, data: Any) -> Flow:
        return self.flow_from(
            data, state_of=state_from_flag, state_key="is_active", updated_key="updated_at"
        )

    async def _project_ids(self) -> list[str]:
        if self._project is not None:
            return [self._project]
        projects = await self._call("GET", "projects")
        if not isinstance(projects, list):
            raise PlatformError("unexpected answer to the project list")
        return [str(p["id"]) for p in projects if isinstance(p, dict) and "id" in p]

    async def list_flows(self) -> list[Flow]:
        """Every project's flows; the projects are fetched at once (each list is one
        request that depends on nothing but the project list)."""
        projects = await self._project_ids()
        answers = await asyncio.gather(
            *(self._project_flows(project) for project in projects), return_exceptions=True
        )
        flows: list[Flow] = []
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            flows.extend(answer)
        return flows

    async def _project_flows(self, project: str) -> list[Flow]:
        rows = await self._call("GET", "flows", project)
        if not isinstance(rows, list):
            raise PlatformError("unexpected answer to the flow list")
        if len(rows) == LIST_CAP:
            log.warning(
                "%s: project %s returned exactly %d flows; the list may be truncated",
                self.account,
                project,
                LIST_CAP,
            )
        return [self._flow(row) for row in rows]

    async def get_flow(self, flow_id: str) -> Flow:
        return self._flow(await self._call("GET", "flow", flow_id))

    async def _apply(self, flow: Flow, desired: State) -> Flow:
        act = "flow_activate" if desired is State.ENABLED else "flow_deactivate"
        data = await self._call("PUT", act, flow.ref.flow_id)
        if isinstance(data, dict) and "is_active" in data:
            return self._flow(data)
        return await self.get_flow(flow.ref.flow_id)

    async def _converge(self, flow_id: str, desired: State) -> ChangeResult:
        if not self._toggle_only:
            return await super()._converge(flow_id, desired)
        first = current = await self.get_flow(flow_id)
        confirmed = unknown = 0
        while current.state != desired:
            if current.state is State.UNKNOWN:
                raise PlatformError(f"is_active unreadable: {current.raw.get('is_active')!r}")
            if confirmed >= TOGGLE_ROUNDS or unknown >= UNKNOWN_ROUNDS:
                break
            still_wanted(first.ref, desired)
            try:
                data = await self._call("PUT", "flow_toggle_active", flow_id, idempotent=False)
                current = self._flow(data)
                confirmed += 1
            except OutcomeUnknown:
                current = await self.get_flow(flow_id)
                unknown += 1
        return ChangeResult.verified(first.ref, desired, first.state, current.state)
