"""Windows of each rule form, including DST, midnight crossing and leap days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui.config import Config
from flowtui.rules import local_instant, merge_windows, timeline_for

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MakeConfig = Callable[..., Config]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(make_config: MakeConfig, rule: str, start: datetime, end: datetime, tz: str):
    config = make_config(f'[[maintenance]]\nname = "m"\nflows = ["s:1"]\n{rule}', tz)
    rule_model = config.maintenance[0]
    return timeline_for(rule_model, config.zone(rule_model)).windows(start, end)


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        # Spring forward: 02:30 does not exist; the first valid instant after it is 03:00.
        (datetime(2027, 3, 28, 2, 30), BERLIN, utc(2027, 3, 28, 1, 0)),
        # Fall back: 02:30 exists twice; the first is CEST.
        (datetime(2027, 10, 31, 2, 30), BERLIN, utc(2027, 10, 31, 0, 30)),
        (datetime(2027, 3, 14, 2, 30), NEW_YORK, utc(2027, 3, 14, 7, 0)),
        (datetime(2027, 11, 7, 1, 30), NEW_YORK, utc(2027, 11, 7, 5, 30)),
        (datetime(2027, 6, 1, 12, 0), BERLIN, utc(2027, 6, 1, 10, 0)),
    ],
)
def test_local_instant_dst_rules(wall: datetime, zone: ZoneInfo, expected: datetime) -> None:
    assert local_instant(wall, zone) == expected


@pytest.mark.parametrize(
    ("tz", "cron", "day", "expected_start"),
    [
        ("Europe/Berlin", "30 2 * * *", (2027, 3, 28), utc(2027, 3, 28, 1, 0)),
        ("Europe/Berlin", "30 2 * * *", (2027, 10, 31), utc(2027, 10, 31, 0, 30)),
        ("America/New_York", "30 2 * * *", (2027, 3, 14), utc(2027, 3, 14, 7, 0)),
        ("America/New_York", "30 1 * * *", (2027, 11, 7), utc(2027, 11, 7, 5, 30)),
    ],
)
def test_cron_window_starts_once_per_day_across_dst(
    make_config: MakeConfig, tz: str, cron: str, day: tuple[int, int, int], expected_start: datetime
) -> None:
    begin = datetime(*day, tzinfo=ZoneInfo(tz))
    windows = starts(
        make_config, f'cron = "{cron}"\nduration = "30m"', begin, begin + timedelta(days=1), tz
    )
    same_day = [w for w in windows if w[0].astimezone(ZoneInfo(tz)).date() == begin.date()]
    assert same_day == [(expected_start, expected_start + timedelta(minutes=30))]


def test_durations_are_elapsed_time_across_dst(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        'cron = "0 1 * * *"\nduration = "2h"',
        utc(2027, 10, 30, 12),
        utc(2027, 10, 31, 12),
        "Europe/Berlin",
    )
    # 01:00 CEST = 23:00 UTC; two elapsed hours later is 02:00 CET (wall clock shows 1 h).
    assert windows == [(utc(2027, 10, 30, 23), utc(2027, 10, 31, 1))]


def test_quarter_hour_cron_in_the_spring_gap_fires_once(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        'cron = "*/15 2 * * *"\nduration = "5m"',
        utc(2027, 3, 27, 12),
        utc(2027, 3, 28, 12),
        "Europe/Berlin",
    )
    assert windows == [(utc(2027, 3, 28, 1), utc(2027, 3, 28, 1, 5))]


def test_standard_cron_day_numbers_and_day_or_weekday(make_config: MakeConfig) -> None:
    sundays = starts(
        make_config,
        'cron = "0 12 * * 0"\nduration = "1h"',
        utc(2026, 11, 23),
        utc(2026, 12, 7),
        "UTC",
    )
    assert [w[0].date().isoformat() for w in sundays] == ["2026-11-29", "2026-12-06"]
    either = starts(
        make_config,
        'cron = "0 12 1 * MON"\nduration = "1h"',
        utc(2026, 11, 28),
        utc(2026, 12, 9),
        "UTC",
    )
    assert [w[0].date().isoformat() for w in either] == ["2026-11-30", "2026-12-01", "2026-12-07"]


def test_leap_day_cron(make_config: MakeConfig) -> None:
    windows = starts(
        make_config, 'cron = "0 0 29 2 *"\nduration = "1d"', utc(2026, 1, 1), utc(2029, 1, 1), "UTC"
    )
    assert windows == [(utc(2028, 2, 29), utc(2028, 3, 1))]


def test_weekly_window_crossing_midnight_and_except_dates(make_config: MakeConfig) -> None:
    rule = 'days = ["fri", "sat"]\nfrom = "22:00"\nto = "06:00"\nexcept_dates = [2026-12-05]'
    windows = starts(make_config, rule, utc(2026, 11, 27), utc(2026, 12, 7), "UTC")
    assert windows == [
        (utc(2026, 11, 27, 22), utc(2026, 11, 28, 6)),
        (utc(2026, 11, 28, 22), utc(2026, 11, 29, 6)),
        (utc(2026, 12, 4, 22), utc(2026, 12, 5, 6)),
    ]


def test_weekly_window_on_leap_day(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        'days = ["tue"]\nfrom = "10:00"\nto = "11:00"',
        utc(2028, 2, 28),
        utc(2028, 3, 2),
        "UTC",
    )
    assert windows == [(utc(2028, 2, 29, 10), utc(2028, 2, 29, 11))]


def test_weekly_window_across_spring_forward(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        'days = ["sat"]\nfrom = "22:00"\nto = "06:00"',
        utc(2027, 3, 27),
        utc(2027, 3, 29),
        "Europe/Berlin",
    )
    # 22:00 CET to 06:00 CEST: seven elapsed hours.
    assert windows == [(utc(2027, 3, 27, 21), utc(2027, 3, 28, 4))]


def test_adjacent_windows_of_one_rule_merge(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        'days = ["mon", "tue"]\nfrom = "00:00"\nto = "00:00"',
        utc(2026, 11, 23),
        utc(2026, 11, 26),
        "UTC",
    )
    assert windows == [(utc(2026, 11, 23), utc(2026, 11, 25))]
    assert merge_windows(
        [(utc(2026, 1, 2), utc(2026, 1, 3)), (utc(2026, 1, 1), utc(2026, 1, 2))]
    ) == [(utc(2026, 1, 1), utc(2026, 1, 3))]


def test_one_off_local_times_are_read_in_the_rule_zone(make_config: MakeConfig) -> None:
    windows = starts(
        make_config,
        "start = 2026-12-24T18:00:00\nend = 2026-12-27T06:00:00",
        utc(2026, 12, 1),
        utc(2027, 1, 1),
        "Europe/Berlin",
    )
    assert windows == [(utc(2026, 12, 24, 17), utc(2026, 12, 27, 5))]


def test_alternation_every_half_period(make_config: MakeConfig) -> None:
    config = make_config(
        '[[ab_switch]]\nname = "x"\na = ["s:a"]\nb = ["s:b"]\nevery = "12h"\n'
        "start = 2026-11-01T00:00:00Z"
    )
    switch = config.ab_switch[0]
    windows = timeline_for(switch, config.zone(switch)).windows(utc(2026, 11, 2), utc(2026, 11, 3))
    assert windows == [
        (utc(2026, 11, 1, 12), utc(2026, 11, 2)),
        (utc(2026, 11, 2, 12), utc(2026, 11, 3)),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
)
def test_local_instant_is_the_first_instant_at_or_after_the_wall_time(
    wall: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    instant = local_instant(wall, zone)

    def wall_of(moment: datetime) -> datetime:
        return moment.astimezone(zone).replace(tzinfo=None)

    second = timedelta(seconds=1)
    if wall_of(instant) == wall:
        # It exists: no earlier instant shows the same wall time (the first of two).
        assert wall_of(instant - timedelta(hours=1)) != wall
        assert wall_of(instant - timedelta(minutes=30)) != wall
    else:
        # It does not exist: `instant` is the first one past it.
        assert wall_of(instant) > wall
        assert wall_of(instant - second) < wall
