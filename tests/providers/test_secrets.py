"""No secret in any log line, exception text or repr, on any platform, even under faults."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from flowtui.model import State
from flowtui.providers.base import ProviderError
from flowtui.providers.registry import Environment

ACCOUNTS = ("support", "ops", "studio", "crm", "crm_oauth")


def known_secrets(emu: Any, state_dir: Path) -> set[str]:
    found = {
        emu.token,
        emu.gassapi_refresh_token,
        emu.bitrix24_refresh_token,
        emu.bitrix24_client_secret,
    }
    for saved in (state_dir / "tokens").glob("*.json"):
        pair = json.loads(saved.read_text())
        found |= {pair["access_token"], pair["refresh_token"]}
    return found


async def test_no_secret_in_logs_errors_or_reprs(
    emu: Any,
    connect: Any,
    environment: Environment,
    state_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = [repr(environment)]
    providers = {name: connect(name) for name in ACCOUNTS}
    texts += [repr(p) for p in providers.values()]

    some: dict[str, list[str]] = {}

    async def exercise() -> None:
        for name, provider in providers.items():
            try:
                flows = await provider.list_flows()
                some.setdefault(name, [f.ref.flow_id for f in flows[:3]])
                texts.append(repr(flows[:3]))
            except ProviderError as exc:
                texts.extend([str(exc), repr(exc)])
            changes = dict.fromkeys([*some[name], "nope"], State.DISABLED)
            results = await provider.set_states(changes)
            texts.extend(repr(r) for r in results)
            texts.extend(str(r.error) for r in results if r.error)

    await exercise()  # plain run
    emu.expire_tokens("gassapi")
    emu.expire_tokens("bitrix24")
    await exercise()  # tokens rotate
    for platform in ("diga", "gassapi", "runflow", "bitrix24"):
        emu.set_fault(platform, error_rate=0.5)
    await exercise()  # faults
    secrets = known_secrets(emu, state_dir)
    assert len(secrets) >= 6  # the rotated pairs were found
    texts.append(caplog.text)
    leaks = [secret[:6] for secret in secrets for text in texts if secret in text]
    assert leaks == []
