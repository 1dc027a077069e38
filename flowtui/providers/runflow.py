"""Runflow: a free-string `status_code` mapped per account, writes guarded by `updated_at`.

A PATCH carries the `updated_at` last read; a 409 (stale) means: re-read, re-check, and
try once more with the fresh `updated_at`.
"""

from __future__ import annotations

from typing import Any

import httpx

from flowtui.model import State
from flowtui.providers.base import (
    BaseProvider,
    ChangeResult,
    Conflict,
    Flow,
    PlatformError,
    still_wanted,
    walk_cursor,
)
from flowtui.providers.redaction import register_secret
from flowtui.providers.transport import Transport, error_for_status, json_body

PAGE = 500  # the documented maximum `limit`
# the documented projection: a summary also embeds every node, 8× the bytes of these four
LISTED_FIELDS = "id,name,status_code,updated_at"
WRITE_ATTEMPTS = 2  # the first PATCH, and one more after a 409


def runflow_message(response: httpx.Response) -> str:
    """`code: message` of Runflow's `{code, message, errors[]}` error body, if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[key]) for key in ("code", "message") if body.get(key)]
    return ": ".join(parts)


class RunflowProvider(BaseProvider):
    kind = "runflow"

    def __init__(
        self,
        account: str,
        transport: Transport,
        token: str,
        *,
        organization_id: str | None = None,
        enabled_value: str = "active",
        disabled_value: str = "inactive",
    ) -> None:
        super().__init__(account, transport)
        register_secret(token)
        self._headers = {"Authorization": f"Bearer {token}"}
        if organization_id:
            self._headers["X-Organization-Id"] = organization_id
        self._values = {State.ENABLED: enabled_value, State.DISABLED: disabled_value}

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, url, headers=self._headers, **kwargs)
        if response.is_success:
            return json_body(response)
        raise error_for_status(response.status_code, runflow_message(response))

    def _state(self, status_code: Any) -> State:
        for state, value in self._values.items():
            if status_code == value:
                return state
        return State.UNKNOWN

    def _flow(self, data: Any) -> Flow:
        return self.flow_from(
            data, state_of=self._state, state_key="status_code", updated_key="updated_at"
        )

    async def list_flows(self) -> list[Flow]:
        items = await walk_cursor(
            lambda params: self._call("GET", "/v1/flow-summaries", params=params),
            {"limit": PAGE, "fields": LISTED_FIELDS},
            items_key="items",
            next_cursor=lambda page: page.get("next_pq"),
            cursor_param="pq",
        )
        return [self._flow(item) for item in items]

    async def get_flow(self, flow_id: str) -> Flow:
        return self._flow(await self._call("GET", f"/v1/flows/{flow_id}"))

    def _unmapped(self, flow: Flow) -> PlatformError:
        on, off = self._values[State.ENABLED], self._values[State.DISABLED]
        return PlatformError(
            f"status_code {flow.raw.get('status_code')!r} is neither the enabled value "
            f"{on!r} nor the disabled value {off!r} of this account"
        )

    async def _converge(self, flow_id: str, desired: State) -> ChangeResult:
        first = current = await self.get_flow(flow_id)
        for attempt in range(WRITE_ATTEMPTS):
            if current.state == desired:
                break
            if current.state is State.UNKNOWN:
                raise self._unmapped(current)
            still_wanted(first.ref, desired)
            body = {
                "status_code": self._values[desired],
                "updated_at": current.raw.get("updated_at"),
            }
            try:
                current = self._flow(await self._call("PATCH", f"/v1/flows/{flow_id}", json=body))
            except Conflict:
                if attempt + 1 == WRITE_ATTEMPTS:
                    raise
                current = await self.get_flow(flow_id)
        return ChangeResult.verified(first.ref, desired, first.state, current.state)
