"""Webhook targets of `[[notify]]`: their URL from the environment, the message bodies
(Slack-compatible `{"text"}` or generic JSON), and delivery with retries and backoff in a
task of its own, so that a down or slow webhook never holds up the scheduler."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from flowtui.config import Config, NotifyTarget
from flowtui.ops.incidents import NOTICE, PROBLEM, Message
from flowtui.ops.webhook_urls import webhook_url
from flowtui.providers.redaction import LOGGER_NAME, redact, register_secret

log = logging.getLogger(LOGGER_NAME)

ATTEMPTS = 5
FIRST_BACKOFF_S = 1.0  # then doubling: 1, 2, 4, 8 s between the five attempts
TIMEOUT_S = 10.0
QUEUE_SIZE = 100  # messages waiting per target; beyond it the oldest is dropped
MAX_SUBJECTS = 10  # lines listed in one message; the rest are counted
HOST = socket.gethostname()


@dataclass(frozen=True)
class Webhook:
    """A configured target whose URL was found in the environment."""

    config: NotifyTarget
    url: str

    def __repr__(self) -> str:
        return f"<Webhook {self.config.label}>"

    @property
    def label(self) -> str:
        return self.config.label


def webhooks(config: Config, environ: Mapping[str, str]) -> tuple[list[Webhook], list[str]]:
    """The usable targets, and one line for each that is not (unset or unusable URL)."""
    usable, problems = [], []
    for target in config.notify:
        url = environ.get(target.url_env, "")
        why = f"environment variable {target.url_env} is not set" if not url else None
        if url and (bad := webhook_url(url)):
            why = f"the URL in {target.url_env} {bad}"
        if why:
            problems.append(f"notify target {target.label!r}: {why}; its messages are not sent")
            continue
        register_secret(url)
        usable.append(Webhook(target, url))
    return usable, problems


# -- message bodies -----------------------------------------------------------------------


def text_of(message: Message, host: str = HOST) -> str:
    """The message as a few plain lines, secrets redacted."""
    if message.status == NOTICE:
        return redact(f"[flowtui@{host}] {message.title}")
    head = "PROBLEM" if message.status == PROBLEM else "RECOVERED"
    since = f" (since {message.since:%Y-%m-%d %H:%M:%SZ})" if message.since else ""
    lines = [f"[flowtui@{host}] {head}: {message.title}{since}"]
    if message.status == PROBLEM:
        lines += [f"• {subject}: {detail}" for subject, detail in message.subjects[:MAX_SUBJECTS]]
        if len(message.subjects) > MAX_SUBJECTS:
            lines.append(f"… and {len(message.subjects) - MAX_SUBJECTS} more")
    return redact("\n".join(lines))


def body_of(message: Message, fmt: str, host: str = HOST) -> dict[str, Any]:
    """The JSON body for a target of format `slack` (`{"text"}`) or `json`."""
    text = text_of(message, host)
    if fmt == "slack":
        return {"text": text}
    return {
        "source": "flowtui",
        "host": host,
        "kind": message.kind,
        "status": message.status,
        "key": redact(message.key),
        "title": redact(message.title),
        "at": message.at.isoformat(),
        "since": message.since.isoformat() if message.since else None,
        "subjects": [
            {"subject": redact(subject), "detail": redact(detail)}
            for subject, detail in message.subjects
        ],
        "text": text,
    }


# -- delivery -----------------------------------------------------------------------------


class DeliveryError(Exception):
    """One attempt failed; `retry` tells whether another may succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


async def post(client: httpx.AsyncClient, hook: Webhook, body: Mapping[str, Any]) -> None:
    """One attempt. DeliveryError says why it failed, without the URL (a secret)."""
    try:
        response = await client.post(hook.url, json=body, timeout=TIMEOUT_S)
    except httpx.TimeoutException:
        raise DeliveryError("no answer in time", retry=True) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot send ({type(exc).__name__})", retry=True) from None
    if response.is_success:
        return
    retry = response.status_code == 429 or response.status_code >= 500
    raise DeliveryError(f"HTTP {response.status_code}", retry=retry)


class Delivery:
    """Sends one target's messages in order, in a task of its own; `submit` never waits."""

    def __init__(
        self,
        hook: Webhook,
        client: httpx.AsyncClient,
        *,
        counted: Callable[[str], None] = lambda status: None,
        backoff_scale: float = 1.0,
    ) -> None:
        self.hook = hook
        self._client = client
        self._counted = counted
        self._scale = backoff_scale
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None

    def submit(self, message: Message) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self._counted("dropped")
            log.warning("notify %s: too many messages waiting; dropped the oldest", self.hook.label)
        self._queue.put_nowait(body_of(message, self.hook.config.format))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"notify {self.hook.label}")

    async def flush(self, grace: float) -> None:
        """Give waiting messages up to `grace` seconds, then stop."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(grace):
                await self._queue.join()
        except TimeoutError:
            log.warning("notify %s: %d message(s) not sent", self.hook.label, self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            body = await self._queue.get()
            try:
                await self._deliver(body)
            finally:
                self._queue.task_done()

    async def _deliver(self, body: Mapping[str, Any]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await post(self._client, self.hook, body)
            except DeliveryError as error:
                if not error.retry or attempt == ATTEMPTS:
                    self._counted("failed")
                    log.warning(
                        "notify %s: message not delivered after %d attempt(s): %s",
                        self.hook.label,
                        attempt,
                        error,
                    )
                    return
                backoff = FIRST_BACKOFF_S * 2 ** (attempt - 1)
                await asyncio.sleep((backoff + random.uniform(0, FIRST_BACKOFF_S)) * self._scale)
            else:
                self._counted("sent")
                return
