"""The crash loop (see crash.py): a few SIGKILLs in CI; 51 with
`pytest -m long tests/reliability`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .crash import CrashLoop


def _crash_loop(emu: Any, tmp_path: Path, kills: int) -> None:
    counts = CrashLoop(emu, tmp_path, seed=kills).run(kills)
    print(f"\ncrash loop: {counts.summary()}")
    assert sum(counts.kills.values()) == kills
    assert counts.left_open > 0  # some kills did land mid-change
    assert counts.recovered == counts.left_open


@pytest.mark.slow
def test_daemon_killed_mid_change_recovers_and_converges(emu: Any, tmp_path: Path) -> None:
    _crash_loop(emu, tmp_path, kills=4)


@pytest.mark.long
def test_daemon_survives_fifty_kills(emu: Any, tmp_path: Path) -> None:
    _crash_loop(emu, tmp_path, kills=51)
