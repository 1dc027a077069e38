"""Request-rate limits: Runflow's per-organisation rate and Bitrix24's leaky bucket."""

from __future__ import annotations

import time


class TokenBucket:
    """`rate` requests per second with up to `burst` at once."""

    def __init__(self) -> None:
        self.tokens: float | None = None
        self.last = time.monotonic()

    def take(self, rate: float, burst: int) -> bool:
        now = time.monotonic()
        capacity = max(burst, 1)
        tokens = capacity if self.tokens is None else self.tokens
        tokens = min(capacity, tokens + (now - self.last) * rate)
        self.last = now
        if tokens < 1:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1
        return True


class LeakyBucket:
    """Bitrix24's counter: +1 per request, drains `drain` per second; a request that would
    take it above `threshold` is refused (and not counted)."""

    def __init__(self) -> None:
        self.level = 0.0
        self.last = time.monotonic()

    def admit(self, drain: float, threshold: int) -> bool:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.last) * drain)
        self.last = now
        if self.level + 1 > threshold:
            return False
        self.level += 1
        return True
