"""Properties of desired() and transitions() over generated rules (kept small for CI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui.config import Config
from flowtui.model import FlowRef, State
from flowtui.rules import Schedule

FLOWS = ("s:1", "s:2", "s:3", "s:4")
PRIOR = {FlowRef.parse(flow): State.ENABLED for flow in FLOWS}
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])
# Around both 2027 DST changes in Europe and the US, plus a leap day.
ANCHORS = st.sampled_from(
    [
        datetime(2027, 3, 12, tzinfo=UTC),
        datetime(2027, 3, 26, tzinfo=UTC),
        datetime(2027, 10, 29, tzinfo=UTC),
        datetime(2027, 11, 5, tzinfo=UTC),
        datetime(2028, 2, 27, tzinfo=UTC),
    ]
)
OFFSETS = st.integers(min_value=0, max_value=4 * 24 * 60).map(lambda m: timedelta(minutes=m))


def _flow_list(draw: st.DrawFn) -> str:
    chosen = draw(st.lists(st.sampled_from(FLOWS), min_size=1, max_size=3, unique=True))
    return ", ".join(f'"{flow}"' for flow in chosen)


@st.composite
def maintenance(draw: st.DrawFn, index: int) -> str:
    form = draw(st.sampled_from(["cron", "weekly", "once"]))
    if form == "cron":
        minute = draw(st.sampled_from(["0", "30", "*/20"]))
        hour = draw(st.sampled_from(["*", "1", "2", "3", "22", "*/5"]))
        weekday = draw(st.sampled_from(["*", "SUN", "MON-FRI", "0,6"]))
        length = draw(st.sampled_from(["15m", "1h", "90m", "5h"]))
        window = f'cron = "{minute} {hour} * * {weekday}"\nduration = "{length}"'
    elif form == "weekly":
        days = draw(st.lists(st.sampled_from(["mon", "sat", "sun"]), min_size=1, unique=True))
        begin, finish = (
            draw(st.sampled_from(["01:30", "02:30", "22:00"])),
            draw(st.sampled_from(["02:15", "03:00", "06:00", "22:00"])),
        )
        window = f"days = {days!r}\nfrom = {begin!r}\nto = {finish!r}".replace("'", '"')
    else:
        day = draw(st.integers(min_value=0, max_value=5))
        start = datetime(2027, 3, 26, tzinfo=UTC) + timedelta(days=day, hours=day * 3)
        window = f"start = {start.isoformat()}\nend = {(start + timedelta(hours=9)).isoformat()}"
    state = draw(st.sampled_from(["enabled", "disabled"]))
    after = draw(st.sampled_from(["restore", "enabled", "disabled"]))
    priority = draw(st.integers(min_value=0, max_value=2))
    return (
        f'[[maintenance]]\nname = "m{index}"\nflows = [{_flow_list(draw)}]\n{window}\n'
        f'state = "{state}"\nafter = "{after}"\npriority = {priority}\n'
        f'timezone = "{draw(ZONES)}"\n'
    )


@st.composite
def switch(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        hour = draw(st.sampled_from(["2", "22", "*/7"]))
        length = draw(st.sampled_from(["1h", "3h", "30m"]))
        window = f'b_cron = "30 {hour} * * *"\nb_duration = "{length}"'
    else:
        window = f'every = "{draw(st.sampled_from(["5h", "12h", "90m"]))}"\n'
        window += "start = 2027-01-01T00:30:00+01:00"
    return (
        f'[[ab_switch]]\nname = "ab"\na = ["s:a1", "s:a2"]\nb = ["s:b1"]\n{window}\n'
        f'timezone = "{draw(ZONES)}"\n'
    )


@st.composite
def configs(draw: st.DrawFn) -> tuple[str, str]:
    """Rules as TOML (for the `make_config` fixture) and the default zone."""
    count = draw(st.integers(min_value=0, max_value=3))
    rules = "".join(draw(maintenance(index)) for index in range(count))
    if draw(st.booleans()) or count == 0:
        rules += draw(switch()).replace('"s:a1"', '"s:1"')
    return rules, draw(ZONES)


PRIORS = {f"m{index}": PRIOR for index in range(3)}
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MakeConfig = Callable[..., Config]


def _states(schedule: Schedule, moment: datetime) -> dict:
    return {flow: d.state for flow, d in schedule.desired(moment, PRIORS).items()}


@SETTINGS
@given(configs(), ANCHORS, OFFSETS, st.lists(OFFSETS, min_size=1, max_size=4))
def test_desired_is_constant_between_transitions(
    make_config: MakeConfig,
    rules: tuple[str, str],
    anchor: datetime,
    offset: timedelta,
    probes: list[timedelta],
) -> None:
    schedule = Schedule(make_config(*rules))
    start, end = anchor + offset, anchor + offset + timedelta(days=2)
    found = schedule.transitions(start, end, PRIORS)
    for transition in found:
        now = schedule.desired(transition.at, PRIORS).get(transition.flow)
        before = schedule.desired(transition.at - timedelta(microseconds=1), PRIORS).get(
            transition.flow
        )
        assert (now.state if now else None) == transition.to_state
        assert (before.state if before else None) == transition.from_state
    boundaries = [start, *sorted({t.at for t in found}), end]
    for probe in probes:
        moment = start + probe % (end - start)
        segment_start = max(b for b in boundaries if b <= moment)
        assert _states(schedule, moment) == _states(schedule, segment_start), moment


@SETTINGS
@given(configs(), ANCHORS, OFFSETS, OFFSETS)
def test_transitions_split_at_any_instant(
    make_config: MakeConfig,
    rules: tuple[str, str],
    anchor: datetime,
    first: timedelta,
    second: timedelta,
) -> None:
    schedule = Schedule(make_config(*rules))
    a, b = anchor + min(first, second), anchor + max(first, second)
    c = b + timedelta(days=1)
    assert schedule.transitions(a, c) == schedule.transitions(a, b) + schedule.transitions(b, c)


@SETTINGS
@given(configs(), ANCHORS, OFFSETS)
def test_ab_switch_has_exactly_one_group_on(
    make_config: MakeConfig, rules: tuple[str, str], anchor: datetime, offset: timedelta
) -> None:
    config = make_config(*rules)
    if not config.ab_switch:
        return
    switch_rule = config.ab_switch[0]
    moment = anchor + offset
    result = Schedule(config).desired(moment)
    groups = []
    for group in (switch_rule.a, switch_rule.b):
        rows = [result[config.resolve(ref)] for ref in group]
        mine = [row.state for row in rows if row.rule == switch_rule.name]
        groups.append(bool(mine) and all(state is State.ENABLED for state in mine))
        assert not mine or len(set(mine)) == 1
    assert groups.count(True) == 1
