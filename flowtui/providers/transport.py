"""One HTTP client per account, and the one place where requests are retried.

Pooling and keep-alive come from a single `httpx.AsyncClient`; a semaphore bounds the
requests in flight per account; an optional leaky bucket (aiolimiter) keeps under the
platform's rate limit. Retries (tenacity) cover network errors, 429 and 500/502/503/504
with jittered exponential backoff, honouring `Retry-After`; a rate-limit answer also quiets
the whole account for a moment, since the limit concerns the account, not one request.
A call sent with `idempotent=False` is retried only when the platform provably did not
execute it (connection refused, 429, a classifier's "refused"); when its outcome is
unknown the transport raises `OutcomeUnknown` and the adapter re-reads state instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from flowtui.providers import observers
from flowtui.providers.answers import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_RESPONSE,
    AnswerTooLarge,
    AnswerTooSlow,
    NestedTooDeep,
    UnreadableEncoding,
    answer,
    read_capped,
)
from flowtui.providers.base import (
    AuthError,
    Conflict,
    NotFound,
    OutcomeUnknown,
    PlatformError,
    ProviderError,
    RateLimited,
    Transient,
)
from flowtui.providers.pool import LeanTransport
from flowtui.providers.redaction import (
    LOGGER_NAME,
    install_log_redaction,
    redact,
    register_url_credentials,
)
from flowtui.urls import plain_http_host

log = logging.getLogger(LOGGER_NAME)


class Verdict(Enum):
    """How the transport treats one answer."""

    FINAL = "final"  # hand it to the adapter
    REFUSED = "refused"  # not executed by the platform: always safe to retry
    AMBIGUOUS = "ambiguous"  # may or may not have been executed: retry only if idempotent


def classify_status(response: httpx.Response) -> Verdict:
    """Default: 429 was refused; 500/502/503/504 may have been executed."""
    if response.status_code == 429:
        return Verdict.REFUSED
    if response.status_code in (500, 502, 503, 504):
        return Verdict.AMBIGUOUS
    return Verdict.FINAL


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff plus up to `initial` of jitter (Runflow's documented policy:
    doubling, capped, 5 attempts); `scale` shrinks every wait (tests use a tiny scale)."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    scale: float = 1.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            base = min(retry_after, self.maximum)
        else:
            growth = min(self.maximum, self.initial * 2 ** (attempt - 1))
            base = growth + random.uniform(0, self.initial)
        return base * self.scale

    def longest_delay(self, attempt: int) -> float:
        """The most `delay(attempt, None)` can be (its jitter at the top)."""
        return (min(self.maximum, self.initial * 2 ** (attempt - 1)) + self.initial) * self.scale


class _Retry(Exception):
    """Internal: this attempt should be retried; carries what to raise if none is left."""

    def __init__(
        self,
        error: Exception,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
        *,
        status: str = "error",
        rate_limited: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.response = response
        self.status = str(response.status_code) if response is not None else status
        self.rate_limited = rate_limited  # the wait before the next attempt is a rate limit
        self.unreachable = unreachable  # no connection could be made at all


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), or None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def leaky_bucket(rate: float, burst: int | None) -> AsyncLimiter:
    """A client-side bucket draining `rate` per second that holds the platform's burst
    less one request. The portal starts draining when the first request of a burst
    arrives, so a later request that travels faster than that first one finds the portal's
    bucket fuller than ours: the one request kept free absorbs up to 1/rate of such jitter
    (0.5 s at Bitrix24's 2 req/s), where a share of the burst would cost more requests."""
    capacity = max(1, (burst or 1) - 1)
    return AsyncLimiter(capacity, capacity / rate)


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context (certificate verification on, the CA bundle httpx would load) for
    every account of the process: loading the bundle costs tens of milliseconds per
    client, paid four times by `flowtui ls` over four accounts."""
    return httpx.create_ssl_context()


DEADLINE_FACTOR = 3  # a whole answer must arrive within this many per-read timeouts
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
LIMITER_WAIT = 0.001  # a shorter wait for the client-side bucket is not worth reporting


class Transport:
    """HTTP for one account. Secrets never reach its repr, logs or errors."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        concurrency: int = 8,
        rate: float | None = None,
        burst: int | None = None,
        retry: RetryPolicy | None = None,
        classify: Callable[[httpx.Response], Verdict] = classify_status,
        headers: Mapping[str, str] | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_response: int = DEFAULT_MAX_RESPONSE,
        allow_plain_http: bool = True,
    ) -> None:
        install_log_redaction()
        register_url_credentials(base_url)
        host = plain_http_host(base_url)
        if host is not None and not allow_plain_http:
            raise PlatformError(
                f"refusing plain http:// to {host}: credentials would travel unencrypted"
                " (use https://, or set allow_plain_http = true for this account)"
            )
        default_headers = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": "flowtui/0.1",
        }
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            verify=shared_tls(),
            timeout=httpx.Timeout(timeout),
            limits=limits,
            headers={**default_headers, **(headers or {})},
            transport=http_transport or LeanTransport(verify=shared_tls(), limits=limits),
        )
        self._max_response = max_response
        self._slots = asyncio.Semaphore(concurrency)
        self._limiter = leaky_bucket(rate, burst) if rate else None
        self.retry = retry or RetryPolicy()
        self._classify = classify
        self._sleep = sleep
        # httpx's timeout bounds each read, not the whole answer: a body trickling in a
        # byte at a time (slow loris) would hold a pass forever without this deadline
        self._deadline = timeout * DEADLINE_FACTOR
        self._timeout = timeout
        self._quiet_until = 0.0  # loop time before which no request of this account starts
        self.account = ""  # set by the provider; labels what observers see

    def __repr__(self) -> str:
        return f"<Transport {redact(str(self._client.base_url))}>"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with retries; return the final answer (any status) for the adapter to map."""
        retrying = AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, url, params, json, headers, idempotent)
        except _Retry as exhausted:
            if exhausted.response is not None:
                return exhausted.response
            raise exhausted.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _stop(self, state: RetryCallState) -> bool:
        """Out of attempts; or the host cannot be reached at all and another backoff would
        pass the account's timeout (a dead host fails within it, not after every retry)."""
        if state.attempt_number >= self.retry.attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        if not (isinstance(exc, _Retry) and exc.unreachable):
            return False
        upcoming = self.retry.longest_delay(state.attempt_number)
        return (state.seconds_since_start or 0.0) + upcoming > self._timeout

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, _Retry) else None
        delay = self.retry.delay(state.attempt_number, retry_after)
        log.debug("retrying in %.3fs after attempt %d", delay, state.attempt_number)
        if isinstance(exc, _Retry):
            observers.retried(self.account, exc.status)
            if exc.rate_limited:
                observers.rate_limited(self.account, delay)
        return delay

    async def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool,
    ) -> httpx.Response:
        where = f"{method} {redact(url) or '/'}"
        loop = asyncio.get_running_loop()
        pause = self._quiet_until - loop.time()
        if pause > 0:
            await self._sleep(pause)
            observers.rate_limited(self.account, pause)
        if self._limiter is not None:
            queued = loop.time()
            await self._limiter.acquire()
            if loop.time() - queued > LIMITER_WAIT:
                observers.rate_limited(self.account, loop.time() - queued)
        async with self._slots:
            try:
                response = await self._send(method, url, params, json, headers)
            except AnswerTooLarge as exc:
                if idempotent:
                    raise PlatformError(f"{where}: {exc}") from None
                raise OutcomeUnknown(f"{where}: {exc}; outcome unknown") from None
            except UnreadableEncoding as exc:
                raise PlatformError(f"{where}: {exc}") from None
            except (TimeoutError, AnswerTooSlow):
                error = f"{where}: no complete answer within {self._deadline:g}s"
                if idempotent:
                    raise _Retry(Transient(error), status="timeout") from None
                raise OutcomeUnknown(f"{error}; outcome unknown") from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise PlatformError(f"{where}: cannot send ({type(exc).__name__})") from None
            except CONNECT_ERRORS as exc:
                target = self._client.base_url.join(url)
                port = target.port or (443 if target.scheme == "https" else 80)
                error = f"{where}: cannot connect to {target.host}:{port} ({type(exc).__name__})"
                raise _Retry(Transient(error), unreachable=True) from None
            except httpx.TransportError as exc:
                error = f"{where}: no answer ({type(exc).__name__})"
                if idempotent:
                    raise _Retry(Transient(error)) from None
                raise OutcomeUnknown(f"{error}; outcome unknown") from None
            except httpx.HTTPError as exc:
                raise PlatformError(f"{where}: cannot send ({type(exc).__name__})") from None
        log.debug("%s -> %d", where, response.status_code)
        verdict = self._classify(response)
        if verdict is Verdict.REFUSED:
            # a rate limit speaks of the account, not of one request: every request waits
            retry_after = retry_after_seconds(response)
            quiet = self.retry.delay(1, retry_after)
            self._quiet_until = max(self._quiet_until, asyncio.get_running_loop().time() + quiet)
            log.info("%s answered %d; account quiet for %.3fs", where, response.status_code, quiet)
            raise _Retry(Transient(where), retry_after, response, rate_limited=True)
        if verdict is Verdict.AMBIGUOUS and idempotent:
            log.info("%s answered %d; backing off", where, response.status_code)
            raise _Retry(Transient(where), retry_after_seconds(response), response)
        if verdict is Verdict.AMBIGUOUS:
            raise OutcomeUnknown(f"{where}: HTTP {response.status_code}; outcome unknown")
        return response

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """One exchange within the deadline and `max_response`, told to the observers
        (flowtui.ops.metrics)."""
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._fetch(method, url, params, json, headers)
        except Exception as exc:  # counted, then handled by the caller
            timed_out = isinstance(exc, TimeoutError | AnswerTooSlow)
            observers.requested(self.account, "timeout" if timed_out else "error")
            raise
        observers.requested(self.account, str(response.status_code))
        return response

    async def _fetch(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """Send and read the whole answer; AnswerTooLarge past `max_response`, AnswerTooSlow
        past the deadline even while data keeps arriving without a pause."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._deadline
        request = self._client.build_request(method, url, params=params, json=json, headers=headers)
        streamed = await self._client.send(request, stream=True)
        try:
            body = await read_capped(streamed, self._max_response, lambda: loop.time() > give_up)
        finally:
            await streamed.aclose()
        return answer(streamed, body)

    async def aclose(self) -> None:
        await self._client.aclose()


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or a PlatformError naming the status when it is not JSON."""
    try:
        return response.json()
    except NestedTooDeep as exc:
        raise PlatformError(f"unreadable answer (HTTP {response.status_code}): {exc}") from None
    except ValueError:
        raise PlatformError(f"unreadable answer (HTTP {response.status_code}, not JSON)") from None


def error_for_status(status: int, message: str) -> ProviderError:
    """The typed error for an HTTP error status; `message` is the platform's own words."""
    text = redact(f"{message} (HTTP {status})" if message else f"HTTP {status}")
    if status in (401, 403):
        return AuthError(text)
    if status == 404:
        return NotFound(text)
    if status == 409:
        return Conflict(text)
    if status == 429:
        return RateLimited(text)
    if status >= 500:
        return Transient(text)
    return PlatformError(text)
