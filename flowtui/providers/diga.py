"""Diga: absolute PATCH of `status`; enabling a never-published flow silently does nothing."""

from __future__ import annotations

from typing import Any

import httpx

from flowtui.model import State
from flowtui.providers.base import (
    BaseProvider,
    ChangeResult,
    Flow,
    NotPublished,
    still_wanted,
    walk_cursor,
)
from flowtui.providers.redaction import register_secret
from flowtui.providers.transport import Transport, error_for_status, json_body

PAGE = 30
STATUS = {State.ENABLED: "ENABLED", State.DISABLED: "DISABLED"}
STATES = {value: state for state, value in STATUS.items()}


def diga_message(body: Any) -> str:
    """The error text of either Diga error shape (`message` or FastAPI's `detail`)."""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("message"), str):
        return body["message"]
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", ""))
    return detail if isinstance(detail, str) else ""


class DigaProvider(BaseProvider):
    kind = "diga"
    can_publish = True
    can_create = True

    def __init__(self, account: str, transport: Transport, token: str) -> None:
        super().__init__(account, transport)
        register_secret(token)
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        response = await self._http.request(
            method, url, headers=self._headers, idempotent=idempotent, **kwargs
        )
        return self._body(response)

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        if response.is_success:
            return json_body(response)
        try:
            message = diga_message(response.json())
        except ValueError:
            message = ""
        raise error_for_status(response.status_code, message)

    def _flow(self, data: Any) -> Flow:
        return self.flow_from(
            data,
            state_of=lambda status: STATES.get(status, State.UNKNOWN),
            state_key="status",
            updated_key="updated",
        )

    async def list_flows(self) -> list[Flow]:
        items = await walk_cursor(
            lambda params: self._call("GET", "/v1/workflow/", params=params),
            {"limit": PAGE},
            items_key="data",
            next_cursor=lambda page: page.get("last_id") if page.get("has_more") else None,
            cursor_param="after",
        )
        return [self._flow(item) for item in items]

    async def get_flow(self, flow_id: str) -> Flow:
        return self._flow(await self._call("GET", f"/v1/workflow/{flow_id}"))

    async def _converge(self, flow_id: str, desired: State) -> ChangeResult:
        before = await self.get_flow(flow_id)
        if before.state == desired:
            return ChangeResult.verified(before.ref, desired, before.state, before.state)
        still_wanted(before.ref, desired)
        url = f"/v1/workflow/{flow_id}/status"
        after = self._flow(await self._call("PATCH", url, json={"status": STATUS[desired]}))
        if desired is State.ENABLED and after.state == before.state:
            # the documented trap: 200, flow unchanged, because it was never published
            error = NotPublished(f"not published — publish it first: flowtui publish {before.ref}")
            return ChangeResult.failed(before.ref, desired, error, State.NOT_PUBLISHED)
        return ChangeResult.verified(before.ref, desired, before.state, after.state)

    async def publish(self, flow_id: str) -> Flow:
        url = f"/v1/workflow/{flow_id}/publish"
        return self._flow(await self._call("POST", url, idempotent=False))

    async def create_flow(self, name: str) -> Flow:
        data = await self._call("POST", "/v1/workflow/", json={"name": name}, idempotent=False)
        return self._flow(data)
