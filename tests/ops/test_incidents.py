"""Incidents are pure: whatever the order and rhythm of failures, a key costs at most one
message per incident and one on recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from flowtui.ops.incidents import NOTICE, PROBLEM, RECOVERED, Incidents

T0 = datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
AFTER = timedelta(seconds=30)
RECOVER = timedelta(minutes=5)


def tracker() -> Incidents:
    return Incidents({"account_unreachable": AFTER}, RECOVER)


def test_an_account_is_announced_only_after_it_stayed_down_for_after() -> None:
    incidents = tracker()
    incidents.failing("account:crm", "account_unreachable", "crm down", "crm", "HTTP 503", T0)
    assert incidents.due(T0 + AFTER / 2) == []
    incidents.healthy("account:crm", "crm", T0 + AFTER / 2)  # back before `after`: no word
    assert incidents.due(T0 + 2 * AFTER) == []  # forgotten, not pending

    incidents.failing("account:crm", "account_unreachable", "crm down", "crm", "HTTP 503", T0)
    [message] = incidents.due(T0 + AFTER)
    assert (message.status, message.since, message.subjects) == (
        PROBLEM,
        T0,
        (("crm", "HTTP 503"),),
    )


@given(st.lists(st.booleans(), min_size=1, max_size=200), st.integers(1, 20))
def test_flapping_faster_than_recover_after_costs_two_messages(
    states: list[bool], step_s: int
) -> None:
    """Any sequence of down/up observations spaced less than `recover_after` apart, then a
    long quiet: one problem (if it was ever down long enough) and one recovery."""
    incidents = tracker()
    now, messages = T0, []
    for down in states:
        if down:
            incidents.failing("account:crm", "account_unreachable", "crm", "crm", "down", now)
        else:
            incidents.healthy("account:crm", "crm", now)
        messages += incidents.due(now)
        now += timedelta(seconds=step_s)
    incidents.healthy("account:crm", "crm", now)
    messages += incidents.due(now + RECOVER)
    statuses = [m.status for m in messages]
    assert statuses in ([], [PROBLEM, RECOVERED])


def test_subjects_keep_an_incident_open_until_the_last_recovers() -> None:
    incidents = tracker()
    incidents.failing("change_failed:night", "change_failed", "night", "a:1", "gone", T0)
    incidents.failing("change_failed:night", "change_failed", "night", "a:2", "gone", T0)
    [problem] = incidents.due(T0)
    assert [s for s, _ in problem.subjects] == ["a:1", "a:2"]
    incidents.healthy("change_failed:night", "a:1", T0)
    assert incidents.due(T0 + 2 * RECOVER) == []
    incidents.healthy("change_failed:night", "a:2", T0 + 2 * RECOVER)
    assert incidents.due(T0 + 3 * RECOVER - timedelta(seconds=1)) == []
    [recovered] = incidents.due(T0 + 3 * RECOVER)
    assert recovered.status == RECOVERED


def test_notices_are_not_repeated_within_recover_after() -> None:
    incidents = tracker()
    assert [m.status for m in incidents.notice("leader", "leadership", "up", T0)] == [NOTICE]
    assert incidents.notice("leader", "leadership", "up", T0 + RECOVER / 2) == []
    assert len(incidents.notice("leader", "leadership", "up", T0 + RECOVER)) == 1
