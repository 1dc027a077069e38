"""Rotating token pairs (GASSAPI JWT refresh, Bitrix24 OAuth renewal), shared by processes.

Refresh tokens are single-use on both platforms, so the newest pair is written to
`<state_dir>/tokens/<account>.json` (mode 0600) and preferred over the environment seed on
the next run — unless the operator has put a different seed in the environment since.

Several processes (a daemon, the app, CLI commands) may use one account at once. A refresh
happens only under the account's file lock (`<account>.lock` beside the pair), and only after
re-reading the file: a process whose token was rejected first looks whether another one has
stored a newer pair (each write bumps a generation) and uses that instead of spending a
refresh token that is already spent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from flowtui.providers import observers
from flowtui.providers.base import AuthError
from flowtui.providers.redaction import LOGGER_NAME, register_secret

log = logging.getLogger(LOGGER_NAME)

LOCK_WAIT_S = 60.0  # longest wait for another process's refresh (its requests time out first)
RENEWALS = 2  # a pair adopted from another process may itself have expired: then refresh
Answer = TypeVar("Answer")


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


class PairStore(Protocol):
    """Where an account's newest pair is kept for every process: the file TokenStore, or
    flowtui.store.tokens.SharedTokenStore in team mode."""

    def load(self, seed: TokenPair) -> Stored: ...

    def save(self, stored: Stored, seed: TokenPair) -> None: ...

    def locked(self) -> AbstractAsyncContextManager[None]: ...


class TokenStore:
    """The persisted newest pair of one account, and the lock its refreshes take."""

    def __init__(self, state_dir: Path, account: str) -> None:
        self.path = state_dir / "tokens" / f"{account}.json"
        self.lock_path = self.path.with_suffix(".lock")

    def load(self, seed: TokenPair) -> Stored:
        """The stored pair if it descends from `seed`, else `seed` itself (generation 0)."""
        try:
            stored = json.loads(self.path.read_text())
            if stored.get("seed") == seed.fingerprint():
                expires = stored.get("expires_at")
                expires = float(expires) if isinstance(expires, int | float) else None
                pair = TokenPair(stored["access_token"], stored.get("refresh_token"), expires)
                return Stored(pair, int(stored.get("generation", 1)))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring unreadable token file %s", self.path)
        return Stored(seed)

    def save(self, stored: Stored, seed: TokenPair) -> None:
        """Write atomically with mode 0600 (the directory 0700)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {
            "seed": seed.fingerprint(),
            "generation": stored.generation,
            "access_token": stored.pair.access,
            "refresh_token": stored.pair.refresh,
            "expires_at": stored.pair.expires_at,
        }
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Hold the account's refresh lock (other processes wait; the event loop does not)."""
        # imported here: filelock's async lock costs ~50 ms to import, and most commands
        # never renew a token
        from filelock import AsyncFileLock, Timeout

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = AsyncFileLock(self.lock_path, timeout=LOCK_WAIT_S, mode=0o600)
        try:
            await lock.acquire()
        except Timeout:
            raise AuthError("another process has been renewing this token for too long") from None
        try:
            yield
        finally:
            await lock.release()


Refresher = Callable[[str], Awaitable[TokenPair]]


class RotatingCredentials:
    """The current pair, renewed at most once per expiry across tasks and processes."""

    def __init__(
        self,
        seed: TokenPair,
        refresher: Refresher | None,
        store: PairStore | None,
        *,
        account: str = "",
    ):
        register_secret(seed.access)
        register_secret(seed.refresh)
        self._seed = seed
        self._store = store
        self._refresher = refresher
        self._account = account
        self._lock = asyncio.Lock()
        self._held = store.load(seed) if store else Stored(seed)
        self._remember(self._held)

    def __repr__(self) -> str:
        return "<RotatingCredentials ***>"

    @property
    def current(self) -> TokenPair:
        return self._held.pair

    @property
    def can_refresh(self) -> bool:
        return self._refresher is not None and self.current.refresh is not None

    def _remember(self, stored: Stored) -> None:
        register_secret(stored.pair.access)
        register_secret(stored.pair.refresh)
        self._held = stored
        observers.token_expires(self._account, stored.pair.expiry())

    async def send(
        self,
        request: Callable[[TokenPair], Awaitable[Answer]],
        rejected: Callable[[Answer], bool],
    ) -> Answer:
        """`request` with the current pair; while the platform rejects the token (at most
        RENEWALS times), renew the pair and send again. A rejected request did nothing on
        the platform, so sending it again is safe even when it is not idempotent."""
        pair = self.current
        answer = await request(pair)
        for _ in range(RENEWALS):
            if not (rejected(answer) and self.can_refresh):
                break
            pair = await self.renew(pair)
            answer = await request(pair)
        return answer

    async def renew(self, used: TokenPair) -> TokenPair:
        """A pair to use instead of `used`, which the platform rejected: the one another task
        already got, else a newer one another process stored, else a fresh one from the
        platform — stored before anyone uses it."""
        async with self._lock:
            if self.current != used:
                return self.current
            if self._store is None:
                return await self._refresh(self._held.generation)
            async with self._store.locked():
                stored = self._store.load(self._seed)
                if stored.generation > self._held.generation:
                    self._remember(stored)
                    log.info("access token renewed by another process; using it")
                    return stored.pair
                return await self._refresh(stored.generation)

    async def _refresh(self, stored_generation: int) -> TokenPair:
        """Spend the held refresh token for a new pair, stored as the next generation."""
        spent = self.current.refresh
        if self._refresher is None or spent is None:
            raise AuthError("access token rejected and no refresh token configured")
        fresh = await self._refresher(spent)
        if fresh.refresh is None:
            fresh = TokenPair(fresh.access, spent, fresh.expires_at)
        rotated = Stored(fresh, max(stored_generation, self._held.generation) + 1)
        self._remember(rotated)
        if self._store is not None:
            self._store.save(rotated, self._seed)
        log.info("access token refreshed")
        return fresh
