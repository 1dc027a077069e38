"""Fencing between an intent and its send (SPEC §8): a leader that stalls after recording
its intents — SIGSTOP, a long GC pause — may resume after a standby took over. Its intents
were written under a valid lease, so the database let them in; the send must still not go
out. Judged by the emulator's request log, not by flowtui's own account."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.engine.clock import ManualClock
from flowtui.engine.daemon import Scheduler
from flowtui.store import AuditRecord, Fenced
from flowtui.store.admin import upgrade_database
from flowtui.store.postgres import PostgresStore

T0 = datetime(2031, 11, 24, 10, 0, tzinfo=UTC)  # a Monday
LEASE_S = 2


@pytest.mark.slow
async def test_a_leader_stalled_after_its_intent_sends_nothing(
    emu: Any, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade_database(pg_url)
    flow = next(
        f["id"] for f in emu.state("diga")["flows"] if f["published"] and f["status"] == "ENABLED"
    )
    config = tmp_path / "schedules.toml"
    config.write_text(
        f'[settings]\ntimezone = "UTC"\nstate_url_env = "FT_STATE_URL"\nlease = "{LEASE_S}s"\n\n'
        f'[accounts.support]\nkind = "diga"\nbase_url = "{emu.diga_url}"\n'
        'token_env = "FT_DIGA"\ntimeout = "1s"\n\n'
        f'[[maintenance]]\nname = "nightly"\nflows = ["support:{flow}"]\n'
        'cron = "0 10 * * *"\nduration = "1h"\n'
    )
    record_event = PostgresStore.record_event

    def stalled(self: PostgresStore, record: AuditRecord) -> int:
        written = record_event(self, record)
        if record.event_type == "intent":
            time.sleep(LEASE_S + 0.2)  # frozen past the lease, right after the intent
        return written

    monkeypatch.setattr(PostgresStore, "record_event", stalled)
    emu.clear_requests()
    scheduler = Scheduler(
        config,
        tmp_path / "state",
        clock=ManualClock(T0 + timedelta(minutes=1)),
        env={"FT_STATE_URL": pg_url, "FT_DIGA": emu.token},
    )
    with pytest.raises(Fenced, match="not sent"):
        await scheduler.open()  # the start pass wants the flow disabled
    patches = [r for r in emu.requests("diga") if r["method"] == "PATCH"]
    assert patches == []
    status = {f["id"]: f["status"] for f in emu.state("diga")["flows"]}
    assert status[flow] == "ENABLED"
    store = PostgresStore(pg_url)
    try:  # left open for the next leader, which re-verifies it
        assert [(i.flow.flow_id, i.new_status) for i in store.open_intents()] == [
            (flow, "disabled")
        ]
    finally:
        store.close()
