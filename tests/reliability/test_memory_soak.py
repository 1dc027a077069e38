"""The memory soak (see memory_soak.py): the daemon's RSS levels off and its audit table
stays within its retention while passes, resyncs and faults go on. A short form in CI; 30
minutes of wall time at 6,200 governed flows with `pytest -m long -s tests/reliability`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .memory_soak import SoakPlan, SoakResult, run_soak

FLAT_MB = 5.0  # RSS over the second half stays within this


def _check(result: SoakResult) -> None:
    print(f"\n{result.summary()}")
    assert result.passes["resync"] >= 3
    assert result.changed > 0
    assert result.faults["foreign change"] > 0
    assert result.spread_mb <= FLAT_MB, result.summary()
    last = result.samples[-1]
    assert last.audit_written > last.audit_rows, "no audit row was ever pruned"
    oldest = max(s.oldest_age_s for s in result.samples)
    assert oldest <= result.oldest_allowed_s, result.summary()


@pytest.mark.slow
def test_memory_levels_off_and_audit_stays_within_retention(tmp_path: Path) -> None:
    plan = SoakPlan(
        flows_per_platform=100,
        minutes=0.6,
        resync="2s",
        retention="10s",
        cycle_cron="* * * * *",
        cycle_length="30s",
        sample_s=1.5,
        tamper_every_s=3.0,
    )
    _check(run_soak(plan, tmp_path, report=lambda _: None))


@pytest.mark.long
def test_memory_levels_off_over_thirty_minutes_at_6200_flows(tmp_path: Path) -> None:
    plan = SoakPlan(flows_per_platform=1550, minutes=30)
    result = run_soak(plan, tmp_path, report=lambda line: print(line, flush=True))
    _check(result)
    assert result.passes["resync"] >= 60
