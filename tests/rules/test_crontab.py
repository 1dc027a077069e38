"""Wall-clock cron: standard day-of-week numbers, day-or-weekday, and the per-day cache."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui.crontab import CronError, WallCron

EXPRESSIONS = [
    "0 2 * * SUN",
    "30 2 * * *",
    "*/20 1-3 * * MON-FRI",
    "0 0 1 * MON",
    "15 6 29 2 *",
    "0 12 * * 0,6",
    "0 */7 * * 5-7",
]


def _reference(cron: WallCron, start: datetime, end: datetime) -> list[datetime]:
    found, fire = [], cron.next_fire(start - timedelta(microseconds=1))
    while fire is not None and fire < end:
        found.append(fire)
        fire = cron.next_fire(fire)
    return found


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(EXPRESSIONS),
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 1)),
            st.integers(min_value=0, max_value=20 * 24 * 60),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_cached_fires_equal_stepping_through_the_trigger(
    expression: str, ranges: list[tuple[datetime, int]]
) -> None:
    cron = WallCron(expression)  # one instance: later ranges reuse the cache
    for start, minutes in ranges:
        end = start + timedelta(minutes=minutes)
        assert cron.fires(start, end) == _reference(WallCron(expression), start, end)


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("0", {6}),
        ("7", {6}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("5-7", {4, 5, 6}),
        ("FRI-SUN", {4, 5, 6}),
        ("*/2", {6, 1, 3, 5}),  # Sunday, Tuesday, Thursday, Saturday
        ("sat,SUN", {5, 6}),
    ],
)
def test_standard_day_of_week_field(field: str, weekdays: set[int]) -> None:
    fires = WallCron(f"0 0 * * {field}").fires(datetime(2027, 1, 4), datetime(2027, 1, 11))
    assert {fire.weekday() for fire in fires} == weekdays


@pytest.mark.parametrize(
    "expression", ["0 2 * *", "0 2 * * FUNDAY", "0 2 * * 5-1", "61 2 * * *", "0 2 * * 1/0"]
)
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(CronError):
        WallCron(expression)
