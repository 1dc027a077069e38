"""The week timeline: lanes, the now marker and daylight-saving days."""

from __future__ import annotations

from datetime import UTC, datetime

from flowtui.config import parse_config
from flowtui.timeline import LABEL, render_timeline

CONFIG = """
[settings]
timezone = "Europe/Berlin"

[accounts.support]
kind = "diga"
token_env = "X"

[[maintenance]]
name = "nightly"
flows = ["support:*"]
cron = "30 2 * * *"
duration = "1h"

[[maintenance]]
name = "off"
flows = ["support:a"]
cron = "0 12 * * *"
duration = "1h"
paused = true
"""


def test_fall_back_day_is_marked_and_windows_are_drawn() -> None:
    now = datetime(2026, 10, 23, 10, 0, tzinfo=UTC)  # Friday; Berlin falls back on Sunday 25th
    lines = render_timeline(parse_config(CONFIG), now, width=LABEL + 1 + 7 * 24).plain.splitlines()
    header, marker, nightly, off, legend = lines
    assert "Sun 25*" in header
    assert "Sat 24*" not in header
    assert marker.index("▼") == LABEL + 12  # 12:00 Berlin, one column per hour
    lane = nightly[LABEL:]
    assert [lane[day * 24 + 2] for day in range(7)] == ["█"] * 7  # 02:30-03:30 daily
    assert [lane[day * 24 + 5] for day in range(7)] == ["·"] * 7
    assert off.startswith("off (paused)")
    assert "daylight-saving" in legend
