"""Whatever a platform answers, an adapter raises a typed one-line error, never anything else."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from flowtui.model import State
from flowtui.providers.base import BaseProvider, Outcome, ProviderError
from flowtui.providers.bitrix24 import Bitrix24Provider
from flowtui.providers.diga import DigaProvider
from flowtui.providers.gassapi import GassapiProvider
from flowtui.providers.runflow import RunflowProvider
from flowtui.providers.transport import RetryPolicy, Transport

ANSWERS = {
    "html": httpx.Response(200, text="<html>maintenance</html>"),
    "empty": httpx.Response(200),
    "list": httpx.Response(200, json=[1, 2, 3]),
    "null": httpx.Response(200, json=None),
    "wrong shapes": httpx.Response(
        200, json={"data": "x", "items": 3, "result": {"result": []}, "success": True}
    ),
    "teapot": httpx.Response(418, text="no"),
    "5xx text": httpx.Response(500, text="Internal Server Error"),
}


def transport(answer: httpx.Response) -> Transport:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    return Transport(
        "http://platform.test/",
        http_transport=httpx.MockTransport(reply),
        retry=RetryPolicy(scale=0.0001),
    )


ADAPTERS: dict[str, Callable[[Transport], BaseProvider]] = {
    "diga": lambda t: DigaProvider("a", t, "tok-diga"),
    "gassapi": lambda t: GassapiProvider("a", t, "tok-gass", toggle_only=True),
    "runflow": lambda t: RunflowProvider("a", t, "tok-runflow"),
    "bitrix24": lambda t: Bitrix24Provider("a", t, [1, 2]),
}


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize("answer", ANSWERS)
async def test_garbage_is_a_provider_error(kind: str, answer: str) -> None:
    provider = ADAPTERS[kind](transport(ANSWERS[answer]))
    try:
        with pytest.raises(ProviderError):
            await provider.get_flow("1")
        try:
            listed = await provider.list_flows()
        except ProviderError:
            listed = []
        assert {flow.state for flow in listed} <= {State.UNKNOWN}  # Bitrix24: rows with errors
        result = await provider.set_state("1", State.DISABLED)
        assert result.outcome is Outcome.FAILED
        assert "\n" not in str(result.error)
    finally:
        await provider.aclose()


async def test_a_bad_base_url_is_one_line() -> None:
    diga = DigaProvider("a", Transport("ftp://nowhere/"), "tok")
    try:
        result = await diga.set_state("1", State.DISABLED)
    finally:
        await diga.aclose()
    assert "cannot send (UnsupportedProtocol)" in str(result.error)
