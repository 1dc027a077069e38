"""The emulator's webhook sink: what tests and the demo use to see notifications."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from polling import wait_for


def test_the_sink_records_answers_fails_and_forgets(emu: Any) -> None:
    url = emu.webhook_url("room")
    assert httpx.post(url, json={"text": "hello"}).text == "ok"
    httpx.post(url, content=b"plain words")
    assert emu.webhooks("room") == [{"text": "hello"}, "plain words"]

    assert emu.set_webhook("room", fail=2, status=500) == {"fail": 2, "status": 500, "hold": False}
    assert [httpx.post(url, json={}).status_code for _ in range(3)] == [500, 500, 200]
    raw = emu.http.get("/webhooks").json()
    assert raw["room"]["attempts"] == 5
    assert len(raw["room"]["received"]) == 3

    emu.reset()
    assert emu.http.get("/webhooks").json() == {}


def test_a_held_post_waits_until_released(emu: Any) -> None:
    emu.set_webhook("slow", hold=True)
    answers: list[int] = []
    sender = threading.Thread(
        target=lambda: answers.append(httpx.post(emu.webhook_url("slow"), json={}).status_code)
    )
    sender.start()
    wait_for(lambda: emu.http.get("/webhooks/slow").json()["attempts"] == 1, "the post to arrive")
    assert answers == []
    assert emu.webhooks("slow") == []
    emu.set_webhook("slow", hold=False)
    sender.join(timeout=10)
    assert answers == [200]
    assert emu.webhooks("slow") == [{}]


@pytest.mark.parametrize(
    "fields", [{"fail": -1}, {"status": 42}, {"fail": True}, {"colour": "red"}]
)
def test_bad_settings_are_refused(emu: Any, fields: dict[str, Any]) -> None:
    assert emu.http.put("/webhooks/room", json=fields).status_code == 422
