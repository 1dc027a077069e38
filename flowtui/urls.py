"""What a configured URL reveals: whether it sends credentials in the clear. Pure."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

PLAIN_HTTP_HINT = (
    "use https://, or set allow_plain_http = true for this account if the network is trusted"
)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_host(url: str) -> str | None:
    """The host `url` would reach over unencrypted http://, unless it is loopback; else None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not host or _loopback(host):
        return None
    return host
