"""The soak (see soak.py): one simulated day in CI, a simulated week and a day with
`pytest -m long tests/reliability`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .soak import run_soak


async def _soak(emu: Any, tmp_path: Path, days: float) -> None:
    counts = await run_soak(emu, tmp_path / "schedules.toml", tmp_path / "state", days)
    print(f"\nsoak over {days:g} simulated days: {counts.summary()}")
    assert counts.violations[:10] == []
    assert counts.transitions > 0
    assert counts.faults["5xx"] > 0


@pytest.mark.slow
async def test_soak_one_simulated_day(emu: Any, tmp_path: Path) -> None:
    await _soak(emu, tmp_path, days=1)


@pytest.mark.long
async def test_soak_a_simulated_week(emu: Any, tmp_path: Path) -> None:
    await _soak(emu, tmp_path, days=8)
