"""From a configured account to a ready Provider: secrets come from the environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtui.providers.answers import DEFAULT_MAX_RESPONSE
from flowtui.providers.base import MissingSecret, Provider, ProviderError
from flowtui.providers.bitrix24 import Bitrix24Provider
from flowtui.providers.bitrix24 import classify as bitrix_classify
from flowtui.providers.diga import DigaProvider
from flowtui.providers.gassapi import GassapiProvider
from flowtui.providers.redaction import register_secret
from flowtui.providers.runflow import RunflowProvider
from flowtui.providers.tokens import PairStore, TokenStore
from flowtui.providers.transport import RetryPolicy, Transport


@dataclass(frozen=True)
class Environment:
    """Where secrets and rotated tokens come from, and how hard to retry. With `state_url`
    (team mode, SPEC §8) rotated tokens live in that PostgreSQL database, shared by every
    replica, app and CLI; else in the state directory."""

    state_dir: Path | None = None
    env: Mapping[str, str] | None = field(default=None, repr=False)  # holds secrets
    retry: RetryPolicy | None = None
    max_response: int = DEFAULT_MAX_RESPONSE  # settings.max_response
    state_url: str | None = field(default=None, repr=False)  # carries a password

    def secret(self, account: str, variable: str | None, role: str, *, whole: bool = True) -> str:
        """The variable's value, registered for redaction unless `whole` is False (a
        webhook URL, of which only the code is secret)."""
        if not variable:
            raise MissingSecret(f"account {account}: no environment variable named for {role}")
        value = (os.environ if self.env is None else self.env).get(variable)
        if not value:
            raise MissingSecret(f"account {account}: environment variable {variable} is not set")
        if whole:
            register_secret(value)
        return value

    def optional(self, account: str, variable: str | None, role: str) -> str | None:
        return self.secret(account, variable, role) if variable else None

    def store(self, account: str) -> PairStore | None:
        """Where `account`'s rotated pair is kept (None: in memory only)."""
        if self.state_url is not None:
            from flowtui.store.tokens import SharedTokenStore  # psycopg only in team mode

            return SharedTokenStore(self.state_url, account)
        return TokenStore(self.state_dir, account) if self.state_dir is not None else None


def _transport(account: Any, base_url: str, env: Environment, **kwargs: Any) -> Transport:
    return Transport(
        base_url,
        timeout=account.timeout.total_seconds(),
        concurrency=account.concurrency,
        retry=env.retry,
        max_response=env.max_response,
        allow_plain_http=account.allow_plain_http,
        **kwargs,
    )


def _diga(name: str, account: Any, env: Environment) -> Provider:
    token = env.secret(name, account.token_env, "the API key")
    return DigaProvider(name, _transport(account, account.base_url, env), token)


def _gassapi(name: str, account: Any, env: Environment) -> Provider:
    return GassapiProvider(
        name,
        _transport(account, account.base_url, env),
        env.secret(name, account.token_env, "the access token"),
        refresh_token=env.optional(name, account.refresh_token_env, "the refresh token"),
        project_id=account.project_id,
        toggle_only=account.toggle_only,
        store=env.store(name),
    )


def _runflow(name: str, account: Any, env: Environment) -> Provider:
    return RunflowProvider(
        name,
        _transport(account, account.base_url, env),
        env.secret(name, account.token_env, "the API key"),
        organization_id=account.organization_id,
        enabled_value=account.enabled_value,
        disabled_value=account.disabled_value,
    )


def _bitrix24(name: str, account: Any, env: Environment) -> Provider:
    limits = {"rate": account.rate, "burst": account.burst, "classify": bitrix_classify}
    webhook_env = getattr(account, "webhook_url_env", None)
    if webhook_env:
        url = env.secret(name, webhook_env, "the webhook URL", whole=False).rstrip("/") + "/"
        code = url.rstrip("/").rsplit("/", 1)[-1]
        register_secret(code)
        return Bitrix24Provider(name, _transport(account, url, env, **limits), account.flow_ids)
    base_url = account.base_url.rstrip("/")
    base_url = base_url + "/" if base_url.endswith("/rest") else base_url + "/rest/"
    return Bitrix24Provider(
        name,
        _transport(account, base_url, env, **limits),
        account.flow_ids,
        token=env.secret(name, account.token_env, "the OAuth access token"),
        refresh_token=env.optional(name, account.refresh_token_env, "the OAuth refresh token"),
        client_id=env.optional(name, account.client_id_env, "the OAuth client id"),
        client_secret=env.optional(name, account.client_secret_env, "the OAuth client secret"),
        oauth_url=account.oauth_url,
        store=env.store(name),
    )


BUILDERS: dict[str, Callable[[str, Any, Environment], Provider]] = {
    "diga": _diga,
    "gassapi": _gassapi,
    "runflow": _runflow,
    "bitrix24": _bitrix24,
}


def build_provider(name: str, account: Any, env: Environment) -> Provider:
    """The provider for one configured account; MissingSecret names a missing variable."""
    return BUILDERS[account.kind](name, account, env)


def build_providers(
    accounts: Mapping[str, Any], env: Environment
) -> tuple[dict[str, Provider], dict[str, ProviderError]]:
    """Providers for every account that could be built, and the error of each that could not."""
    providers: dict[str, Provider] = {}
    errors: dict[str, ProviderError] = {}
    for name, account in accounts.items():
        try:
            providers[name] = build_provider(name, account, env)
        except ProviderError as exc:
            errors[name] = exc
    return providers, errors
