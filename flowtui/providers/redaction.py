"""Keep secrets out of every log line, exception and repr.

Secrets (tokens, refresh tokens, the code segment of a Bitrix24 webhook URL, the password of
a `user:password@` URL and the Basic header made from it) are registered process-wide as
soon as an adapter learns them; `redact` replaces them and anything credential-shaped
(bearer tokens, `user:password@` in any URL), and a logging filter installed on our own and
httpx's loggers applies it to every record.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter strings would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1" + MASK),
    (
        re.compile(r"(?i)(authorization[\"']?\s*[=:]\s*[\"']?(?:[a-z]+\s+)?)[^\s'\",]+"),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@'\"]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(/rest/\d+/)[^/\s'\"?]+"), r"\1" + MASK),
    (
        re.compile(r"(?i)((?:access_token|refresh_token|auth|client_secret)[=:]\s*\"?)[^&\s'\",]+"),
        r"\1" + MASK,
    ),
)


def register_secret(secret: str | None) -> None:
    """Remember a secret so that `redact` masks it from now on."""
    if secret and len(secret) >= MIN_SECRET:
        with _lock:
            _secrets.add(secret)


def register_url_credentials(url: str) -> None:
    """Remember the password of a `user:password@` URL, as written and as the Basic
    Authorization header httpx makes from it, so that no echo of either gets out."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return
    if not password:
        return
    plain = f"{unquote(user or '')}:{unquote(password)}"
    for secret in (password, unquote(password), base64.b64encode(plain.encode()).decode()):
        register_secret(secret)


def redact(text: str) -> str:
    """`text` with every known secret and every credential-shaped fragment masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()
# Logger filters do not apply to child loggers, so every logger that may see a URL or a
# header is named here; flowtui.providers modules all log through LOGGER_NAME.
LOGGER_NAME = "flowtui.providers"
LOGGER_NAMES = (LOGGER_NAME, "httpx", "httpcore.connection", "httpcore.http11")


def install_log_redaction() -> None:
    """Attach the filter to the loggers that may see URLs or headers (idempotent)."""
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
