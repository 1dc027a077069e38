"""Issued bearer tokens with expiry and single-use refresh tokens (GASSAPI, Bitrix24 OAuth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any


class TokenCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass
class IssuedToken:
    kind: str  # "access" or "refresh"
    expires_at: float
    active: bool = True

    def valid_at(self, now: float) -> bool:
        return self.active and now < self.expires_at


def fingerprint(token: str) -> str:
    """How raw state names a token without revealing it: 12 hex chars of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class TokenRegistry:
    """Every token one platform has issued, keyed by the token string."""

    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}

    def clear(self) -> None:
        self._tokens.clear()

    def add(self, token: str, kind: str, expires_at: float) -> None:
        self._tokens[token] = IssuedToken(kind=kind, expires_at=expires_at)

    def check(self, token: str, kind: str, now: float) -> TokenCheck:
        issued = self._tokens.get(token)
        if issued is None or issued.kind != kind or not issued.active:
            return TokenCheck.UNKNOWN
        return TokenCheck.VALID if now < issued.expires_at else TokenCheck.EXPIRED

    def use_refresh(self, token: str, now: float) -> bool:
        """Spend a refresh token: true once if it is valid, after which it is deactivated."""
        if self.check(token, "refresh", now) is not TokenCheck.VALID:
            return False
        self._tokens[token].active = False
        return True

    def expire_access(self, now: float) -> int:
        """Make every live access token expired; returns how many were."""
        live = [t for t in self._tokens.values() if t.kind == "access" and t.valid_at(now)]
        for issued in live:
            issued.expires_at = now - 1
        return len(live)

    def to_raw(self, now: float) -> list[dict[str, Any]]:
        return [
            {
                "fingerprint": fingerprint(token),
                "kind": issued.kind,
                "active": issued.active,
                "valid": issued.valid_at(now),
                "expires_at": issued.expires_at,
            }
            for token, issued in self._tokens.items()
        ]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_like(claims: dict[str, Any], key: str) -> str:
    """A compact HS256 JWT: looks like GASSAPI's tokens; the registry decides validity."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({**claims, "jti": secrets.token_hex(8)}).encode())
    signature = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def opaque(length: int = 32) -> str:
    return secrets.token_hex(length // 2)
