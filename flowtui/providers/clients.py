"""One client stack per account per process (SPEC §3, "One process, one client per account").

The app, its embedded scheduler and CLI code share one `AccountClients`: each account has one
`Provider` — one HTTP client, one rate limiter, one holder of its rotating credentials — so
two parts of one process never spend the same single-use refresh token or double the
account's request rate. A provider is built the first time it is asked for; `update` (a
reloaded configuration) keeps the provider of every account whose settings did not change
and closes the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flowtui.providers.base import Provider, ProviderError
from flowtui.providers.redaction import LOGGER_NAME
from flowtui.providers.registry import Environment, build_provider

log = logging.getLogger(LOGGER_NAME)


class AccountClients:
    """The providers of a configuration's accounts for this process; `aclose()` ends them."""

    def __init__(self, env: Environment, accounts: Mapping[str, Any] | None = None) -> None:
        self.env = env
        self._accounts: dict[str, Any] = dict(accounts or {})
        self._providers: dict[str, Provider] = {}
        self._errors: dict[str, ProviderError] = {}

    def __contains__(self, account: object) -> bool:
        return account in self._accounts

    def get(self, account: str) -> Provider:
        """The provider of `account`, built on first use; ProviderError (e.g. MissingSecret)
        when it cannot be built, KeyError for an account the configuration does not name."""
        if account in self._providers:
            return self._providers[account]
        if account in self._errors:
            raise self._errors[account]
        try:
            provider = build_provider(account, self._accounts[account], self.env)
        except ProviderError as exc:
            self._errors[account] = exc
            raise
        self._providers[account] = provider
        return provider

    def _build_all(self) -> None:
        for account in self._accounts:
            with contextlib.suppress(ProviderError):  # kept in self._errors: see `errors`
                self.get(account)

    @property
    def providers(self) -> dict[str, Provider]:
        """Every account's provider that could be built (a copy: safe to keep)."""
        self._build_all()
        return dict(self._providers)

    @property
    def errors(self) -> dict[str, ProviderError]:
        """Why each account that could not be built could not (a copy)."""
        self._build_all()
        return dict(self._errors)

    def retry_failed(self) -> None:
        """Build the accounts that could not be built again at their next use (say, once
        team mode's database, which holds their rotated tokens, answers again)."""
        self._errors.clear()

    def replace(self, accounts: Mapping[str, Any]) -> list[Provider]:
        """Take `accounts` as the configuration from now on; the providers of removed or
        changed accounts are dropped and returned, for the caller to close."""
        retired: list[Provider] = []
        for name in list(self._accounts):
            if accounts.get(name) != self._accounts[name]:
                self._errors.pop(name, None)
                if name in self._providers:
                    retired.append(self._providers.pop(name))
        self._accounts = dict(accounts)
        return retired

    async def update(self, accounts: Mapping[str, Any]) -> None:
        """`replace`, then close what it dropped."""
        await close_all(self.replace(accounts))

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        self._errors.clear()
        await close_all(providers)


async def close_all(providers: Iterable[Provider]) -> None:
    """Close every provider; one that fails to close does not keep the others open."""
    providers = list(providers)
    answers = await asyncio.gather(*(p.aclose() for p in providers), return_exceptions=True)
    for provider, answer in zip(providers, answers, strict=True):
        if isinstance(answer, Exception):
            log.debug("%s: closing its connections failed", provider.account, exc_info=answer)
