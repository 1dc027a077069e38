"""PostgreSQL restarted under a running leader (issue 17): on a server of the test's own,
two replicas, compressed rules; the server restarts at once, then stays down for longer
than the lease. The leader steps down or takes the lease again, never sends without a
lease, and the replicas resume: judged from the emulator's request log and state, the lease
row and the audit table (tests/reliability/replicas.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pg_cluster import OwnServer, with_schema

from .replicas import LEASE_S, START, ChaosRun


@pytest.mark.slow
def test_a_database_restart_under_the_leader(emu: Any, own_pg: OwnServer, tmp_path: Path) -> None:
    url = with_schema(own_pg.url, "public")
    with ChaosRun(emu, url, tmp_path, count=2) as run:
        run.wait_until(START)
        run.wait_for_leader()
        run.restart_database(own_pg.restart, 0.0)
        run.restart_database(own_pg.restart, 2.5 * LEASE_S)
        run.settle()
    counts = run.judge()
    summary = counts.summary()
    print(summary)
    assert run.codes == [0, 0], summary
    assert counts.sends > 0, summary
    assert counts.violations == [], f"{summary}: {counts.violations[:10]}"
    assert max(counts.both_off_s, default=0.0) < 1.0, summary
