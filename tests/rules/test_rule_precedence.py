"""desired(): precedence, after-states, overrides, wildcards, paused rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flowtui.config import AccountWildcard, Config
from flowtui.model import FlowRef, State
from flowtui.rules import RESTORE, Override, Schedule, desired, next_transition, transitions

MakeConfig = Callable[..., Config]
S1, S2 = FlowRef("s", "1"), FlowRef("s", "2")
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday


def window(name: str, flows: str, state: str = "disabled", extra: str = "") -> str:
    """A maintenance rule open every day 10:00-14:00 UTC."""
    return (
        f'[[maintenance]]\nname = "{name}"\nflows = [{flows}]\ncron = "0 10 * * *"\n'
        f'duration = "4h"\ntimezone = "UTC"\nstate = "{state}"\n{extra}\n'
    )


SWITCH = (
    '[[ab_switch]]\nname = "ab"\na = ["s:1"]\nb = ["s:2"]\nb_cron = "0 10 * * *"\n'
    'b_duration = "4h"\ntimezone = "UTC"\n'
)


def states(result: dict) -> dict:
    return {flow: (d.state, d.rule) for flow, d in result.items()}


def test_maintenance_window_holds_its_state(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1"', extra="enforce = true"))
    result = desired(config, NOON)
    assert result[S1].state is State.DISABLED
    assert result[S1].enforced
    assert result[S1].rule == "m"


def test_window_is_half_open(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1"', extra='after = "enabled"'))
    opens, closes = NOON.replace(hour=10), NOON.replace(hour=14)
    assert desired(config, opens)[S1].state is State.DISABLED
    assert desired(config, opens - timedelta(microseconds=1))[S1].state is State.ENABLED
    assert desired(config, closes)[S1].state is State.ENABLED
    assert not desired(config, closes)[S1].enforced


def test_restore_uses_the_recorded_prior_state(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1", "s:2"'))
    after = NOON.replace(hour=15)
    assert desired(config, after) == {}  # nothing recorded: not touched
    result = desired(config, after, prior_states={"m": {S1: State.ENABLED}})
    assert states(result) == {S1: (State.ENABLED, "m")}
    plan = transitions(config, NOON, after)
    assert {(t.flow, t.from_state, t.to_state) for t in plan} == {
        (S1, State.DISABLED, RESTORE),
        (S2, State.DISABLED, RESTORE),
    }


def test_one_off_window_governs_nothing_before_it(make_config: MakeConfig) -> None:
    config = make_config(
        '[[maintenance]]\nname = "once"\nflows = ["s:1"]\nstart = 2026-12-01T00:00:00Z\n'
        'end = 2026-12-02T00:00:00Z\nafter = "enabled"\n'
    )
    assert desired(config, NOON) == {}
    assert desired(config, datetime(2026, 12, 1, 1, tzinfo=UTC))[S1].state is State.DISABLED
    assert desired(config, datetime(2027, 1, 1, tzinfo=UTC))[S1].state is State.ENABLED


def test_maintenance_beats_ab_switch(make_config: MakeConfig) -> None:
    config = make_config(SWITCH + window("m", '"s:2"'))
    result = desired(config, NOON)
    assert states(result) == {S1: (State.DISABLED, "ab"), S2: (State.DISABLED, "m")}


def test_ab_switch_beats_after_states(make_config: MakeConfig) -> None:
    rule = window("m", '"s:1"', extra='after = "disabled"').replace("0 10", "0 6")
    config = make_config(SWITCH + rule)
    assert states(desired(config, NOON.replace(hour=20))) == {
        S1: (State.ENABLED, "ab"),
        S2: (State.DISABLED, "ab"),
    }


def test_overlapping_windows_higher_priority_wins(make_config: MakeConfig) -> None:
    config = make_config(
        window("low", '"s:1"', "disabled") + window("high", '"s:1"', "enabled", "priority = 5")
    )
    assert states(desired(config, NOON)) == {S1: (State.ENABLED, "high")}


def test_overlapping_windows_tie_goes_to_disabled(make_config: MakeConfig) -> None:
    for first, second in (("enabled", "disabled"), ("disabled", "enabled")):
        config = make_config(window("one", '"s:1"', first) + window("two", '"s:1"', second))
        assert desired(config, NOON)[S1].state is State.DISABLED


def test_override_beats_every_rule_until_it_ends(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1", "s:2"'))
    until = NOON + timedelta(hours=1)
    pins = [Override(S1, State.ENABLED, until), Override(S2, None, until)]
    result = desired(config, NOON, overrides=pins)
    assert states(result) == {S1: (State.ENABLED, "override"), S2: (None, "override")}
    assert states(desired(config, until, overrides=pins)) == {
        S1: (State.DISABLED, "m"),
        S2: (State.DISABLED, "m"),
    }
    plan = transitions(config, NOON, NOON + timedelta(hours=3), overrides=pins)
    assert [(t.at, t.flow, t.from_state, t.to_state) for t in plan][:2] == [
        (until, S1, State.ENABLED, State.DISABLED),
        (until, S2, None, State.DISABLED),
    ]


def test_paused_rules_govern_nothing(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1"', extra="paused = true"))
    assert desired(config, NOON) == {}
    assert transitions(config, NOON, NOON + timedelta(days=2)) == []


def test_wildcards_expand_with_known_flows(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:*", "crm:*"'))
    plain = desired(config, NOON)
    # Bitrix24 flows are configured, so crm:* always expands; s:* needs the live list.
    assert set(plain) == {AccountWildcard("s"), *(FlowRef("crm", str(i)) for i in (1, 2, 3))}
    known = desired(config, NOON, known_flows={"s": ["a", "b"]})
    assert FlowRef("s", "a") in known
    assert AccountWildcard("s") not in known


def test_transitions_and_next_transition(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1"', extra='after = "enabled"'))
    plan = transitions(config, NOON, NOON + timedelta(days=1))
    assert [(t.at.hour, t.from_state, t.to_state) for t in plan] == [
        (14, State.DISABLED, State.ENABLED),
        (10, State.ENABLED, State.DISABLED),
    ]
    assert next_transition(config, NOON) == plan[0]
    assert Schedule(config).next_transition(plan[0].at) == plan[1]


def test_no_transition_when_nothing_changes(make_config: MakeConfig) -> None:
    config = make_config(window("m", '"s:1"', extra='after = "disabled"'))
    assert transitions(config, NOON, NOON + timedelta(days=3)) == []
    assert next_transition(config, NOON) is None
