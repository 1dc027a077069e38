"""The status bar's team-mode words (flowtui.tui.team_link.team_status), from a lease row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowtui.store.leases import Lease
from flowtui.tui.team_link import TeamStatus, team_status

RENEWED = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


def lease(age_s: float, holder: str = "srv1:4242") -> Lease:
    age = timedelta(seconds=age_s)
    return Lease("default", holder, 3, RENEWED + timedelta(seconds=15), RENEWED, age)


@pytest.mark.parametrize(
    ("row", "own", "candidate", "said"),
    [
        (None, None, False, TeamStatus("no leader", "warning")),
        (lease(16), None, False, TeamStatus("no leader", "warning")),  # expired
        (None, None, True, TeamStatus("no leader · this app stands by", "warning")),
        (lease(2), None, False, TeamStatus("leader srv1:4242 · heartbeat 2 s ago")),
        (lease(11), None, False, TeamStatus("leader srv1:4242 · heartbeat 11 s ago", "warning")),
        (lease(2), None, True, TeamStatus("standby · leader srv1:4242 · heartbeat 2 s ago")),
        (
            lease(0, "laptop:5150"),
            "laptop:5150",
            True,
            TeamStatus("leader: this app (laptop:5150) · heartbeat 0 s ago"),
        ),
    ],
)
def test_the_words_for_each_lease(
    row: Lease | None, own: str | None, candidate: bool, said: TeamStatus
) -> None:
    assert team_status(row, own=own, candidate=candidate) == said
