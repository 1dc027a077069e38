"""Governance (rule and next change of every flow) is worked out once per change of what it
depends on, and again when a transition passes — not on every refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowtui.model import FlowRef
from flowtui.rules import Transition
from flowtui.tui.governance import RECHECK, Governance, GovernanceCache

NOW = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)
FLOW = FlowRef("ops", "flow_1")


def test_the_answer_is_kept_until_its_inputs_change_or_a_transition_passes() -> None:
    cache = GovernanceCache()
    computed: list[datetime] = []
    at = NOW + timedelta(minutes=30)

    def compute(now: datetime) -> dict[FlowRef, Governance]:
        computed.append(now)
        return {FLOW: Governance("nightly", None, Transition(at, "nightly", FLOW, None, None))}

    first = cache.get(NOW, "config-1", lambda: compute(NOW))
    for minutes in (1, 10, 29):  # refreshes: nothing to redo, the same answer
        moment = NOW + timedelta(minutes=minutes)
        assert cache.get(moment, "config-1", lambda m=moment: compute(m)) is first
    assert computed == [NOW]
    cache.get(at, "config-1", lambda: compute(at))  # the transition passed
    cache.get(at, "config-2", lambda: compute(at))  # the configuration changed
    assert computed == [NOW, at, at]
    cache.invalidate()
    cache.get(at, "config-2", lambda: compute(at))
    assert len(computed) == 4


def test_without_transitions_it_is_checked_again_within_the_hour() -> None:
    cache = GovernanceCache()
    calls: list[datetime] = []

    def compute(now: datetime) -> dict[FlowRef, Governance]:
        calls.append(now)
        return {}

    for moment in (NOW, NOW + RECHECK - timedelta(seconds=1), NOW + RECHECK):
        cache.get(moment, "key", lambda m=moment: compute(m))
    assert calls == [NOW, NOW + RECHECK]
