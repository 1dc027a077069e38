"""Start-up settings of the emulator: data size, seed, credentials and platform limits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

GASSAPI_EMAIL = "operator@flowtui.test"
BITRIX24_WEBHOOK_USER = 1
BITRIX24_CLIENT_ID = "local.flowtui0000000.emulator"


def _derived(token: str, purpose: str) -> str:
    """A secret derived from the main token, stable across resets of one server."""
    return hashlib.sha256(f"{purpose}:{token}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class EmulatorConfig:
    """What the server starts with; `POST /_emulator/reset` returns to it.

    `token` is the one credential every platform accepts at start: Diga and Runflow API key,
    GASSAPI initial access token, Bitrix24 webhook code and initial OAuth access token.
    """

    flows: int = 20
    seed: int = 0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    gassapi_token_ttl_s: float = 900.0
    gassapi_refresh_ttl_s: float = 604_800.0
    gassapi_big_project: int = 0  # > 0: one extra member project with this many flows
    bitrix24_token_ttl_s: float = 3600.0
    bitrix24_drain_per_s: float = 2.0
    bitrix24_threshold: int = 50
    runflow_rate_per_s: float | None = None  # None: no rate limit
    runflow_burst: int = 20
    runflow_retry_after_s: int | None = 1  # None: 429 without Retry-After
    request_log_size: int = 100_000
    latency_ms: float = 0.0  # added before every platform request (kept across resets)

    @property
    def gassapi_refresh_token(self) -> str:
        return "grt_" + _derived(self.token, "gassapi-refresh")

    @property
    def gassapi_password(self) -> str:
        return self.token

    @property
    def bitrix24_client_secret(self) -> str:
        return _derived(self.token, "bitrix24-client-secret")

    @property
    def bitrix24_refresh_token(self) -> str:
        return _derived(self.token, "bitrix24-refresh")
