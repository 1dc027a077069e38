"""The one retry place: what is retried, what is not, and how long it waits."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from flowtui.providers.base import OutcomeUnknown
from flowtui.providers.bitrix24 import classify as bitrix_classify
from flowtui.providers.redaction import redact, register_secret
from flowtui.providers.transport import RetryPolicy, Transport


class Script:
    """An httpx handler answering from a list of statuses/exceptions, counting calls."""

    def __init__(self, *answers: int | Exception | httpx.Response) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(answer, json={"ok": answer})


def transport(handler: Script, waits: list[float] | None = None, **kwargs: object) -> Transport:
    async def sleep(delay: float) -> None:
        if waits is not None:
            waits.append(delay)

    return Transport(
        "http://platform.test/api",
        http_transport=httpx.MockTransport(handler),
        retry=RetryPolicy(scale=0.001),
        sleep=sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_idempotent_call_is_retried_through_5xx() -> None:
    script = Script(503, 502, 200)
    response = await transport(script).request("GET", "/x")
    assert response.status_code == 200
    assert script.calls == 3


async def test_at_most_five_attempts_then_the_last_answer() -> None:
    script = Script(504)
    response = await transport(script).request("GET", "/x")
    assert response.status_code == 504
    assert script.calls == 5


async def test_non_idempotent_5xx_is_not_retried_and_says_outcome_unknown() -> None:
    script = Script(503, 200)
    with pytest.raises(OutcomeUnknown, match="outcome unknown"):
        await transport(script).request("POST", "/toggle", idempotent=False)
    assert script.calls == 1


async def test_non_idempotent_429_was_refused_so_it_is_retried() -> None:
    script = Script(429, 200)
    response = await transport(script).request("POST", "/toggle", idempotent=False)
    assert response.status_code == 200
    assert script.calls == 2


async def test_lost_answer_of_non_idempotent_call_is_not_resent() -> None:
    script = Script(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(OutcomeUnknown):
        await transport(script).request("POST", "/toggle", idempotent=False)
    assert script.calls == 1


async def test_connection_refused_is_retried_even_when_not_idempotent() -> None:
    script = Script(httpx.ConnectError("refused"), 200)
    response = await transport(script).request("POST", "/toggle", idempotent=False)
    assert response.status_code == 200


async def test_retry_after_is_honoured_and_scaled() -> None:
    waits: list[float] = []
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={})
    script = Script(limited, 200)
    await transport(script, waits).request("GET", "/x")
    assert waits[0] == pytest.approx(7 * 0.001)


async def test_a_rate_limit_quiets_the_whole_account() -> None:
    limited = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/first" and not limited.is_set():
            limited.set()
            return httpx.Response(429, headers={"Retry-After": "20"}, json={})
        return httpx.Response(200, json={})

    http = Transport(
        "http://platform.test",
        http_transport=httpx.MockTransport(handler),
        retry=RetryPolicy(scale=0.01),  # Retry-After 20 s → 0.2 s
    )
    loop = asyncio.get_running_loop()

    async def second() -> float:
        await limited.wait()
        started = loop.time()
        await http.request("GET", "/second")
        return loop.time() - started

    _, waited = await asyncio.gather(http.request("GET", "/first"), second())
    assert waited >= 0.15


async def test_backoff_without_retry_after_is_jittered_exponential() -> None:
    waits: list[float] = []
    await transport(Script(503), waits).request("GET", "/x")
    floors = [0.5 * 2**n * 0.001 for n in range(4)]
    assert len(waits) == 4
    assert all(f <= w <= f + 0.5 * 0.001 for w, f in zip(waits, floors, strict=True))


def bitrix_503(code: str) -> httpx.Response:
    return httpx.Response(503, json={"error": code, "error_description": "limit"})


async def test_bitrix_query_limit_is_retried_overload_is_not() -> None:
    script = Script(bitrix_503("QUERY_LIMIT_EXCEEDED"), 200)
    ok = await transport(script, classify=bitrix_classify).request("POST", "m", idempotent=False)
    assert ok.status_code == 200
    script = Script(bitrix_503("OVERLOAD_LIMIT"), 200)
    blocked = await transport(script, classify=bitrix_classify).request("POST", "m")
    assert blocked.status_code == 503
    assert script.calls == 1


async def test_concurrency_is_bounded_per_account() -> None:
    inflight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.005)
        inflight -= 1
        return httpx.Response(200, json={})

    http = Transport(
        "http://platform.test", http_transport=httpx.MockTransport(handler), concurrency=3
    )
    await asyncio.gather(*(http.request("GET", f"/{n}") for n in range(12)))
    assert peak == 3


async def test_secrets_stay_out_of_repr_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("s3cr3t-webhook-code")
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.ReadTimeout("slow"))
    http = Transport(
        "http://portal.test/rest/1/s3cr3t-webhook-code/",
        http_transport=httpx.MockTransport(script),
    )
    with pytest.raises(OutcomeUnknown) as caught:
        await http.request("POST", "tasks.flow.Flow.activate", idempotent=False)
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in repr(http)
    assert "s3cr3t" not in caplog.text
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
