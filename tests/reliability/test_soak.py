"""The soak (see soak.py): one simulated day in CI, a simulated week and a day with
`pytest -m long tests/reliability`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowtui.engine.reconcile import Report
from flowtui.model import FlowRef, State

from .soak import Soak, actual_states, run_soak


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


class SabotagedSoak(Soak):
    """Someone else flips a flow no rule governs and a Bitrix24 flow, right after a pass."""

    def _check(self, report: Report | None, trigger: str, before: dict[FlowRef, State]) -> None:
        if self.counts.passes == 3:
            ungoverned = next(
                ref
                for ref, state in self.ungoverned.items()
                if ref.account == "support" and state is not State.NOT_PUBLISHED
            )
            on = self.ungoverned[ungoverned] is not State.ENABLED
            self.emu.set_flow("diga", ungoverned.flow_id, active=on)
            crm = FlowRef("crm", self.picked.bitrix24[0])
            now_on = actual_states(self.emu)[crm] is State.ENABLED
            self.emu.set_flow("bitrix24", crm.flow_id, active=not now_on)
        super()._check(report, trigger, before)


@pytest.mark.slow
async def test_the_soak_notices_writes_it_did_not_expect(emu: Any, tmp_path: Path) -> None:
    soak = SabotagedSoak(emu, tmp_path / "schedules.toml", tmp_path / "state", seed=7)
    counts = await soak.run(days=0.25)
    found = "\n".join(counts.violations)
    assert "ungoverned support:" in found
    assert "bitrix24: " in found, found
