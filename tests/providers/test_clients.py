"""One client stack per account per process: `AccountClients` builds each account's provider
once, keeps it across a reload that leaves the account unchanged, and closes the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flowtui.providers.base import MissingSecret, Provider
from flowtui.providers.clients import AccountClients
from flowtui.providers.registry import Environment


def closed(provider: Provider) -> bool:
    return bool(provider._http._client.is_closed)  # type: ignore[attr-defined]


async def test_a_reload_keeps_unchanged_accounts_and_closes_changed_ones(
    account_for: Any, environment: Environment
) -> None:
    accounts = {"support": account_for("support"), "ops": account_for("ops")}
    clients = AccountClients(environment, accounts)
    try:
        support, ops = clients.get("support"), clients.get("ops")
        assert clients.providers == {"support": support, "ops": ops}
        await clients.update({"support": account_for("support"), "ops": account_for("ops")})
        assert clients.get("support") is support
        assert clients.get("ops") is ops
        await clients.update({"support": account_for("support", timeout=timedelta(seconds=2))})
        assert clients.get("support") is not support
        assert set(clients.providers) == {"support"}
        assert closed(support)
        assert closed(ops)
        assert not closed(clients.get("support"))
    finally:
        await clients.aclose()


async def test_an_account_without_its_secret_is_an_error_of_that_account_only(
    emu: Any, account_for: Any, state_dir: Any
) -> None:
    env = Environment(state_dir=state_dir, env={"DIGA_KEY": emu.token})
    clients = AccountClients(env, {"support": account_for("support"), "ops": account_for("ops")})
    try:
        assert set(clients.providers) == {"support"}
        assert isinstance(clients.errors["ops"], MissingSecret)
        with pytest.raises(MissingSecret):
            clients.get("ops")
    finally:
        await clients.aclose()
