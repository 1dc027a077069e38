"""`[[notify]]` against the emulator's webhook sink: one message per incident and one on
recovery however often an account flaps, no secret in any body, and a webhook that hangs
never holds up a change."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from flowtui.engine.events import EventBus

from .conftest import T0, Attach, Flows, eventually, secrets_env, settle

HOOK = "ops-room"


def notify_toml(fmt: str = "json", after: str = "1s", recover_after: str = "1m") -> str:
    return f"""
[[notify]]
name = "{HOOK}"
url_env = "FT_HOOK"
format = "{fmt}"
after = "{after}"
recover_after = "{recover_after}"
"""


def window(name: str, refs: list[str], start: Any, state: str = "disabled") -> str:
    return f"""
[[maintenance]]
name = "{name}"
flows = {refs}
state = "{state}"
start = {start.isoformat()}
end = {(start + timedelta(days=1)).isoformat()}
after = "enabled"
"""


def secrets(emu: Any) -> list[str]:
    values = list(secrets_env(emu).values())
    code = emu.bitrix24_webhook_url.rstrip("/").rsplit("/", 1)[-1]
    return [*values, code, emu.webhook_url(HOOK)]


@pytest.mark.slow
async def test_a_flapping_account_costs_one_message_and_one_recovery(
    emu: Any, flows: Flows, write_config: Any, open_engine: Any, operations: Attach
) -> None:
    targets = flows.pick("diga", 2, status="ENABLED", published=True)
    write_config(window("night", [f"support:{i}" for i in targets], T0) + notify_toml())
    engine = await open_engine(T0 + timedelta(minutes=1), EventBus())
    environ = {"FT_HOOK": emu.webhook_url(HOOK)}
    ops = await operations(engine, notify=True, environ=environ)
    clock = engine.clock

    for _ in range(20):  # a minute of flapping: down for two passes, up for one
        emu.set_fault("diga", error_rate=1.0)
        await engine.converge_now(trigger="resync")
        clock.advance(timedelta(seconds=1))
        await engine.converge_now(trigger="resync")
        emu.set_fault("diga", error_rate=0.0)
        clock.advance(timedelta(seconds=1))
        await engine.converge_now(trigger="resync")
        clock.advance(timedelta(seconds=1))
    await settle(ops)
    received = await eventually(lambda: emu.webhooks(HOOK), "the first message")
    assert [(m["kind"], m["status"]) for m in received] == [("account_unreachable", "problem")]
    assert received[0]["key"] == "account:support"
    assert "account support unreachable" in received[0]["text"]

    clock.advance(timedelta(minutes=2))  # quiet for longer than recover_after
    await engine.converge_now(trigger="resync")
    await settle(ops)
    received = await eventually(lambda: emu.webhooks(HOOK)[1:] and emu.webhooks(HOOK), "recovery")
    assert [(m["kind"], m["status"]) for m in received] == [
        ("account_unreachable", "problem"),
        ("account_unreachable", "recovered"),
    ]
    bodies = json.dumps(received)
    for secret in secrets(emu):
        assert secret not in bodies


async def test_a_hanging_webhook_holds_up_no_change_and_delivers_later(
    emu: Any, flows: Flows, write_config: Any, open_engine: Any, operations: Attach
) -> None:
    draft = flows.pick("diga", 1, published=False)[0]
    target = flows.pick("runflow", 1, status_code="active")[0]
    rules = window("drafts", [f"support:{draft}"], T0, state="enabled")
    rules += window("later", [f"studio:{target}"], T0 + timedelta(hours=1))
    write_config(rules + notify_toml(fmt="slack"))
    engine = await open_engine(T0 - timedelta(minutes=1), EventBus())
    emu.set_webhook(HOOK, hold=True)
    ops = await operations(engine, notify=True, environ={"FT_HOOK": emu.webhook_url(HOOK)})

    engine.clock.set(T0)  # enabling a draft fails for good: a message, held by the webhook
    first = await engine.converge_now(trigger="transition")
    assert [o.permanent for o in first.outcomes if o.failed] == [True]
    await eventually(lambda: httpx_attempts(emu) == 1, "the message to reach the webhook")

    engine.clock.set(T0 + timedelta(hours=1))  # the next transition does not wait for it
    second = await engine.converge_now(trigger="transition")
    assert [o.action.value for o in second.outcomes if o.flow.account == "studio"] == ["changed"]
    assert flows.raw("runflow")[target]["status_code"] == "inactive"
    assert emu.webhooks(HOOK) == []  # still held

    emu.set_webhook(HOOK, hold=False)
    await settle(ops)
    received = await eventually(lambda: emu.webhooks(HOOK), "the held message")
    assert len(received) == 1  # the failure is left alone: later passes add no message
    assert set(received[0]) == {"text"}  # Slack's incoming-webhook shape
    assert "changes of rule 'drafts' failed permanently" in received[0]["text"]
    assert f"support:{draft}" in received[0]["text"]


def httpx_attempts(emu: Any) -> int:
    return int(emu.http.get(f"/webhooks/{HOOK}").json()["attempts"])


async def test_a_failing_webhook_is_retried_and_a_refused_reload_is_told_once(
    emu: Any, write_config: Any, open_engine: Any, operations: Attach
) -> None:
    path = write_config(notify_toml())
    engine = await open_engine(T0, EventBus())
    emu.set_webhook(HOOK, fail=2)
    ops = await operations(engine, notify=True, environ={"FT_HOOK": emu.webhook_url(HOOK)})
    good = path.read_text()

    path.write_text(good + "\n[[maintenance]]\nname = 1\n")
    assert not await engine.reload()
    assert not await engine.reload()  # still refused: the same incident
    await settle(ops)
    received = await eventually(lambda: emu.webhooks(HOOK), "the message after two 503s")
    assert httpx_attempts(emu) == 3
    assert [(m["kind"], m["status"]) for m in received] == [("reload_refused", "problem")]
    assert "config not reloaded" in received[0]["subjects"][0]["detail"]

    path.write_text(good)
    assert await engine.reload()
    await settle(ops)
    engine.clock.advance(timedelta(minutes=2))
    ops.notifier.tick()  # type: ignore[union-attr]
    received = await eventually(lambda: emu.webhooks(HOOK)[1:] and emu.webhooks(HOOK), "recovery")
    assert [m["status"] for m in received] == ["problem", "recovered"]
