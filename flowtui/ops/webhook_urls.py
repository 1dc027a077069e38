"""Which webhook URLs `[[notify]]` accepts, and the problems `flowtui check` reports for its
tables (kept apart from delivery so that `check` imports no HTTP client)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from flowtui.config import Config, ConfigProblem


def webhook_url(url: str) -> str | None:
    """Why `url` cannot be a webhook (never echoing it: it is a secret), or None if it can:
    https, or plain http to a loopback host only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL"
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return "uses plain http to a host other than loopback; use https"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def notify_problems(config: Config, environ: Mapping[str, str]) -> list[ConfigProblem]:
    """For `flowtui check`: each target whose variable is unset or holds an unusable URL."""
    problems = []
    for index, target in enumerate(config.notify):
        url = environ.get(target.url_env, "")
        if not url:
            message = f"environment variable {target.url_env} (notify {target.label!r}) is not set"
            hint = f"export {target.url_env} with the webhook URL"
        elif bad := webhook_url(url):
            message = f"the URL in {target.url_env} (notify {target.label!r}) {bad}"
            hint = "use the https URL the chat or alerting tool gave you"
        else:
            continue
        problems.append(config.problem(("notify", index, "url_env"), message, hint))
    return problems
