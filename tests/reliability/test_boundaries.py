"""Issue 12's fault test, short form: rules flipping every minute on four accounts (a
compressed clock), one account slower than its timeout; judged by the emulator's raw state.
The long form (`-m long`) runs 30 engine minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .boundaries import run_boundaries

pytestmark = pytest.mark.slow


async def check(emu: Any, tmp_path: Path, minutes: float) -> None:
    counts = await run_boundaries(emu, tmp_path, minutes)
    summary = counts.summary()
    print(summary)
    assert counts.changes > 0, summary
    assert counts.stale == [], summary
    assert counts.missed == [], summary
    # "both off" no longer than one change and verification on a healthy account
    assert max(counts.both_off_s, default=0.0) < 1.0, summary
    assert max(counts.late_s) < 1.0, f"{summary}; slowest {sorted(counts.late_s)[-5:]}"


async def test_boundaries_hold_with_a_slow_account(emu: Any, tmp_path: Path) -> None:
    await check(emu, tmp_path, minutes=3)


@pytest.mark.long
async def test_boundaries_hold_for_half_an_hour(emu: Any, tmp_path: Path) -> None:
    await check(emu, tmp_path, minutes=30)
