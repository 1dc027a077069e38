"""Keep secrets out of every log line, exception and repr.

Secrets (tokens, refresh tokens, the code segment of a Bitrix24 webhook URL) are registered
process-wide as soon as an adapter learns them; `redact` replaces them, and a logging
filter installed on our own and httpx's loggers applies it to every record.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
MIN_SECRET = 4  # shorter strings would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1" + MASK),
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
