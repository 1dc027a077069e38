"""Providers wired to the emulator through the registry, as the CLI and daemon build them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.config import Bitrix24Account, DigaAccount, GassapiAccount, RunflowAccount
from flowtui.providers.base import Provider
from flowtui.providers.registry import Environment, build_provider
from flowtui.providers.transport import RetryPolicy

FAST = RetryPolicy(scale=0.001)
TIMEOUT = timedelta(seconds=1)


def secrets_env(emu: Any) -> dict[str, str]:
    return {
        "DIGA_KEY": emu.token,
        "GASS_TOKEN": emu.token,
        "GASS_REFRESH": emu.gassapi_refresh_token,
        "RUNFLOW_KEY": emu.token,
        "B24_WEBHOOK": emu.bitrix24_webhook_url,
        "B24_TOKEN": emu.token,
        "B24_REFRESH": emu.bitrix24_refresh_token,
        "B24_CLIENT_ID": emu.bitrix24_client_id,
        "B24_CLIENT_SECRET": emu.bitrix24_client_secret,
    }


def bitrix_ids(emu: Any) -> list[int]:
    return [int(flow["id"]) for flow in emu.state("bitrix24")["flows"]]


def account(emu: Any, name: str, **options: Any) -> Any:
    """One configured account on the emulator: support (diga), ops (gassapi),
    studio (runflow), crm (bitrix24 webhook), crm_oauth (bitrix24 OAuth)."""
    common = {"timeout": options.pop("timeout", TIMEOUT)}
    if name == "support":
        return DigaAccount(kind="diga", base_url=emu.diga_url, token_env="DIGA_KEY", **common)
    if name == "ops":
        return GassapiAccount(
            kind="gassapi",
            base_url=emu.gassapi_url,
            token_env="GASS_TOKEN",
            refresh_token_env="GASS_REFRESH",
            **options,
            **common,
        )
    if name == "studio":
        return RunflowAccount(
            kind="runflow", base_url=emu.runflow_url, token_env="RUNFLOW_KEY", **options, **common
        )
    ids = options.pop("flow_ids", None) or bitrix_ids(emu)
    if name == "crm":
        return Bitrix24Account(
            kind="bitrix24", webhook_url_env="B24_WEBHOOK", flow_ids=ids, **options, **common
        )
    return Bitrix24Account(
        kind="bitrix24",
        base_url=emu.bitrix24_url,
        token_env="B24_TOKEN",
        refresh_token_env="B24_REFRESH",
        client_id_env="B24_CLIENT_ID",
        client_secret_env="B24_CLIENT_SECRET",
        oauth_url=emu.bitrix24_oauth_url,
        flow_ids=ids,
        **options,
        **common,
    )


@pytest.fixture
def account_for(emu: Any) -> Callable[..., Any]:
    """`account_for(name, **options)` → the configured account model."""
    return lambda name, **options: account(emu, name, **options)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def environment(emu: Any, state_dir: Path) -> Environment:
    return Environment(state_dir=state_dir, env=secrets_env(emu), retry=FAST)


@pytest.fixture
async def connect(emu: Any, environment: Environment) -> AsyncIterator[Callable[..., Provider]]:
    """`connect(name, **account options)` → a provider; all are closed after the test."""
    made: list[Provider] = []

    def build(name: str, **options: Any) -> Provider:
        provider = build_provider(name, account(emu, name, **options), environment)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.aclose()
