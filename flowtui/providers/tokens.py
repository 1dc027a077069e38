"""Rotating token pairs (GASSAPI JWT refresh, Bitrix24 OAuth renewal).

Refresh tokens are single-use on both platforms, so the newest pair is written to
`<state_dir>/tokens/<account>.json` (mode 0600) and preferred over the environment seed on
the next run — unless the operator has put a different seed in the environment since.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from flowtui.providers import observers
from flowtui.providers.base import AuthError
from flowtui.providers.redaction import LOGGER_NAME, register_secret

log = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str | None = None
    expires_at: float | None = None  # epoch seconds, when the platform said so

    def __repr__(self) -> str:
        return "<TokenPair ***>"

    def expiry(self) -> float | None:
        """When the access token expires: as the platform said, else a JWT's `exp` claim."""
        return self.expires_at if self.expires_at is not None else jwt_expiry(self.access)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.access}\0{self.refresh or ''}".encode())
        return digest.hexdigest()[:16]


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (read, not verified: it only says when to expect a refresh)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


@dataclass(frozen=True)
class Stored:
    """A pair and its generation: 0 is the environment's seed, each rotation adds one."""

    pair: TokenPair
    generation: int = 0


class TokenStore:
    """The persisted newest pair of one account."""

    def __init__(self, state_dir: Path, account: str) -> None:
        self.path = state_dir / "tokens" / f"{account}.json"

    def load(self, seed: TokenPair) -> TokenPair:
        """The stored pair if it descends from `seed`, else `seed` itself."""
        try:
            stored = json.loads(self.path.read_text())
            if stored.get("seed") == seed.fingerprint():
                expires = stored.get("expires_at")
                expires = float(expires) if isinstance(expires, int | float) else None
                return TokenPair(stored["access_token"], stored.get("refresh_token"), expires)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring unreadable token file %s", self.path)
        return seed

    def save(self, pair: TokenPair, seed: TokenPair) -> None:
        """Write atomically with mode 0600 (the directory 0700)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {
            "seed": seed.fingerprint(),
            "access_token": pair.access,
            "refresh_token": pair.refresh,
            "expires_at": pair.expires_at,
        }
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


Refresher = Callable[[str], Awaitable[TokenPair]]


class RotatingCredentials:
    """The current pair, refreshed at most once per expiry even under concurrent 401s."""

    def __init__(
        self,
        seed: TokenPair,
        refresher: Refresher | None,
        store: TokenStore | None,
        *,
        account: str = "",
    ):
        register_secret(seed.access)
        register_secret(seed.refresh)
        self._seed = seed
        self._store = store
        self._refresher = refresher
        self._lock = asyncio.Lock()
        self.current = store.load(seed) if store else seed
        self._account = account
        register_secret(self.current.access)
        register_secret(self.current.refresh)
        observers.token_expires(account, self.current.expiry())

    def __repr__(self) -> str:
        return "<RotatingCredentials ***>"

    @property
    def can_refresh(self) -> bool:
        return self._refresher is not None and self.current.refresh is not None

    async def refresh(self, used: TokenPair) -> TokenPair:
        """Replace `used` by a fresh pair; a no-op if another task already did."""
        async with self._lock:
            if self.current != used:
                return self.current
            if self._refresher is None or self.current.refresh is None:
                raise AuthError("access token rejected and no refresh token configured")
            fresh = await self._refresher(self.current.refresh)
            register_secret(fresh.access)
            register_secret(fresh.refresh)
            if fresh.refresh is None:
                fresh = TokenPair(fresh.access, self.current.refresh, fresh.expires_at)
            self.current = fresh
            observers.token_expires(self._account, fresh.expiry())
            if self._store is not None:
                self._store.save(fresh, self._seed)
            log.info("access token refreshed")
            return fresh
