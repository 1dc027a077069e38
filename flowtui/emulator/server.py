"""Run the emulator on loopback in a background thread, for tests, the demo and benchmarks.

    with run_in_thread(EmulatorConfig(flows=20, seed=1, token="t")) as running:
        httpx.get(running.diga_url + "/v1/workflow/", headers={"Authorization": "Bearer t"})

The socket is bound before the thread starts (port 0 picks a free port) and the context
manager returns once uvicorn reports it has started; leaving it stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from flowtui.emulator.app import build_app
from flowtui.emulator.config import (
    BITRIX24_CLIENT_ID,
    BITRIX24_WEBHOOK_USER,
    GASSAPI_EMAIL,
    EmulatorConfig,
)
from flowtui.emulator.runtime import Emulator
from flowtui.emulator.seed import runflow_org_ids

START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RunningEmulator:
    """Where a running emulator listens and the credentials it accepts."""

    base_url: str
    config: EmulatorConfig

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def diga_url(self) -> str:
        return f"{self.base_url}/diga"

    @property
    def gassapi_url(self) -> str:
        return f"{self.base_url}/gassapi/"

    @property
    def runflow_url(self) -> str:
        return f"{self.base_url}/runflow"

    @property
    def runflow_org_id(self) -> str:
        """The organisation the key belongs to (send as `X-Organization-Id`, or omit)."""
        return runflow_org_ids()[0]

    @property
    def bitrix24_url(self) -> str:
        """The portal: OAuth calls go to `{bitrix24_url}/rest/<method>`."""
        return f"{self.base_url}/bitrix24"

    @property
    def bitrix24_webhook_url(self) -> str:
        return f"{self.bitrix24_url}/rest/{BITRIX24_WEBHOOK_USER}/{self.token}/"

    @property
    def bitrix24_oauth_url(self) -> str:
        """Stand-in for https://oauth.bitrix.info/oauth/token/."""
        return f"{self.bitrix24_url}/oauth/token/"

    @property
    def bitrix24_client_id(self) -> str:
        return BITRIX24_CLIENT_ID

    @property
    def bitrix24_client_secret(self) -> str:
        return self.config.bitrix24_client_secret

    @property
    def bitrix24_refresh_token(self) -> str:
        """The initial OAuth refresh token (the initial access token is `token`)."""
        return self.config.bitrix24_refresh_token

    @property
    def gassapi_refresh_token(self) -> str:
        """The initial refresh token (the initial access token is `token`)."""
        return self.config.gassapi_refresh_token

    @property
    def gassapi_email(self) -> str:
        return GASSAPI_EMAIL

    @property
    def gassapi_password(self) -> str:
        return self.config.gassapi_password


class _Server(uvicorn.Server):
    """uvicorn's server, telling a thread-safe event when startup has finished."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


@contextmanager
def run_in_thread(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningEmulator]:
    config = config or EmulatorConfig()
    emulator = Emulator(config)
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    server = _Server(
        uvicorn.Config(
            build_app(emulator),
            log_level="warning",
            log_config=None,  # records propagate to the process's own logging set-up
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="flowtui-emulator", daemon=True
    )
    thread.start()
    try:
        if not server.ready.wait(START_TIMEOUT_S) or not server.started:
            raise RuntimeError(f"the emulator did not start on {host}:{bound_port}")
        yield RunningEmulator(base_url=f"http://{host}:{bound_port}", config=config)
    finally:
        server.should_exit = True
        if server.loop is not None and not server.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                server.loop.call_soon_threadsafe(emulator.release_held)
        thread.join(START_TIMEOUT_S)
        sock.close()
