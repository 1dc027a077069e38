"""Diga: absolute PATCH of `status`; enabling a never-published flow silently does nothing.

The list is read in page mode: the first page tells `total_pages`, and every other page
depends on nothing else, so they are asked for at once (the transport bounds how many are
in flight). A flow created meanwhile pushes older flows down a page: the last page then
says `has_more` and the cursor walk takes over from there; repeats are dropped by id. A
flow deleted in the same instant may pull another across a page boundary unseen until the
next refresh — the price of not reading 34 pages one after another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from flowtui.model import State
from flowtui.providers.base import (
    BaseProvider,
    ChangeResult,
    Flow,
    NotPublished,
    PlatformError,
    still_wanted,
    walk_cursor,
)
from flowtui.providers.redaction import register_secret
from flowtui.providers.transport import Transport, error_for_status, json_body

PAGE = 30  # the documented maximum `limit`
MAX_PAGES = 1000  # asked for at once after the first; a longer list is walked by cursor
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
        first = await self._page({"limit": PAGE, "page": 1})
        total = first.get("total_pages")
        last = min(total, MAX_PAGES) if isinstance(total, int) else 1
        pages = [first]
        pages += await asyncio.gather(
            *(self._page({"limit": PAGE, "page": n}) for n in range(2, last + 1))
        )
        items = [item for page in pages for item in page["data"]]
        tail = pages[-1]
        if tail.get("has_more") and tail.get("last_id"):
            items += await walk_cursor(
                self._page,
                {"limit": PAGE, "after": tail["last_id"]},
                items_key="data",
                next_cursor=lambda page: page.get("last_id") if page.get("has_more") else None,
                cursor_param="after",
            )
        flows = {flow.ref.flow_id: flow for flow in map(self._flow, items)}
        return list(flows.values())

    async def _page(self, params: dict[str, Any]) -> dict[str, Any]:
        page = await self._call("GET", "/v1/workflow/", params=params)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise PlatformError("unexpected answer to the flow list")
        return page

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
