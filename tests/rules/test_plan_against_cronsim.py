"""`plan`'s transitions against an independent computation of the windows: cronsim (another
cron library) for the fires, a minute-stepping search for SPEC §2's DST rule (a start that
does not exist fires at the first valid instant after it, one that exists twice at the
first), and a plain merge of the windows. Random crons, durations, weekly windows crossing
midnight and except_dates, in zones with DST in both hemispheres, a 30-minute DST
(Australia/Lord_Howe) and a 45-minute offset (Pacific/Chatham), around their transition
days. `-m long` runs many more examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flowtui.config import parse_config
from flowtui.durations import parse_duration
from flowtui.model import State
from flowtui.rules import transitions

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
)


def _changes(zone: str) -> list[date]:
    """The local days on which `zone`'s UTC offset changes, in 2027 and 2028."""
    tz, days = ZoneInfo(zone), []
    for offset in range(2 * 366):
        day = date(2027, 1, 1) + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        if midnight.utcoffset() != (midnight + timedelta(days=1)).utcoffset():
            days.append(day)
    return days


# Each zone with the days its offset changes (UTC: the days Berlin's does).
CHANGE_DAYS = [(zone, day) for zone in ZONES for day in _changes(zone)] + [
    ("UTC", day) for day in _changes("Europe/Berlin")
]
MINUTES = ("0", "30", "*/15", "5,45", "0-10/5", "15-26/15", "59")
HOURS = ("*", "0", "1", "2", "3", "1-3", "*/6", "2,14", "23")
DAYS_OF_MONTH = ("*", "*", "1-7", "*/2", "15", "29", "31")
MONTHS = ("*", "*", "*", "3,4,10", "1-6", "*/2")
WEEKDAYS = ("*", "*", "SUN", "1-5", "0", "6,0", "MON-FRI", "5")
DURATIONS = ("15m", "1h", "90m", "2h", "5h", "25h")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICK = timedelta(microseconds=1)
LOOKBACK = timedelta(days=8 * 366)  # how far back plan looks for an earlier window

HEAD = '[settings]\ntimezone = "UTC"\n[accounts.s]\nkind = "diga"\ntoken_env = "T"\n'


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """SPEC §2: the instant of a wall time; in a gap the first instant after it."""
    moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold 0: the first of two
    if moment.astimezone(zone).replace(tzinfo=None) == wall:
        return moment
    while (moment - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None) > wall:
        moment -= timedelta(minutes=1)
    return moment


def merged(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    found: list[tuple[datetime, datetime]] = []
    for begin, end in sorted(windows):
        if found and begin <= found[-1][1]:
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            found.append((begin, end))
    return found


def cron_starts(
    expression: str, zone: ZoneInfo, skip: set[date], low: datetime, high: datetime
) -> list[datetime]:
    """Window starts from cronsim's wall-clock fires in [low, high] (walls, naive)."""
    starts = []
    for fire in CronSim(expression, low - timedelta(minutes=1)):
        if fire > high:
            return starts
        if fire.date() not in skip:
            starts.append(first_instant(fire, zone))
    return starts


def fired_before(expression: str, zone: ZoneInfo, skip: set[date], wall: datetime) -> bool:
    """Whether cronsim has a fire (not on a skipped date) in the eight years before `wall`."""
    for fire in CronSim(expression, wall, reverse=True):
        if fire < wall - LOOKBACK:
            return False
        if fire.date() not in skip:
            return True
    return False


def expected_transitions(
    windows: list[tuple[datetime, datetime]], earlier: bool, start: datetime, end: datetime
) -> list[tuple[datetime, State | None, State | None]]:
    """Disabled inside a window, enabled after one (`after = "enabled"`), untouched before
    the first; a transition wherever that changes in [start, end)."""

    def state(moment: datetime) -> State | None:
        if any(begin <= moment < finish for begin, finish in windows):
            return State.DISABLED
        if earlier or any(begin < moment for begin, _ in windows):
            return State.ENABLED
        return None

    edges = sorted({edge for window in windows for edge in window if start <= edge < end})
    found = []
    for edge in edges:
        old, new = state(edge - TICK), state(edge)
        if old != new:
            found.append((edge, old, new))
    return found


def planned(text: str, start: datetime, end: datetime) -> list[tuple[datetime, object, object]]:
    found = transitions(parse_config(HEAD + text), start, end)
    assert all(str(transition.flow) == "s:1" for transition in found)
    return [(t.at, t.from_state, t.to_state) for t in found]


RULE = '[[maintenance]]\nname = "m"\nflows = ["s:1"]\ntimezone = "{zone}"\nafter = "enabled"\n'
CRONS = st.tuples(
    *(st.sampled_from(field) for field in (MINUTES, HOURS, DAYS_OF_MONTH, MONTHS, WEEKDAYS))
).map(" ".join)
PLACES = st.tuples(
    st.sampled_from(CHANGE_DAYS),
    st.integers(min_value=-2, max_value=0),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=12, max_value=24 * 4),
).map(lambda p: (p[0][0], (p[0][1], p[1], p[2], p[3])))  # a zone and a range around a change
Where = tuple[date, int, int, int]  # a transition day, days from it, hour, hours long
EXCEPT = st.lists(st.integers(min_value=-2, max_value=4), max_size=3)


def _range(day: date, shift: int, hour: int, hours: int) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(days=shift)
    return start, start + timedelta(hours=hours)


def _except(day: date, offsets: list[int]) -> set[date]:
    return {day + timedelta(days=offset) for offset in offsets}


def _dates(skip: set[date]) -> str:
    return f"except_dates = [{', '.join(day.isoformat() for day in sorted(skip))}]\n"


def check_cron(cron: str, duration: str, zone_name: str, where: Where, offsets: list[int]) -> None:
    zone = ZoneInfo(zone_name)
    start, end = _range(*where)
    skip = _except(where[0], offsets)
    length = parse_duration(duration)
    text = RULE.format(zone=zone_name) + f'cron = "{cron}"\nduration = "{duration}"\n'
    text += _dates(skip)
    low = (start - length).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    high = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    windows = merged([(b, b + length) for b in cron_starts(cron, zone, skip, low, high)])
    earlier = fired_before(cron, zone, skip, low)
    assert planned(text, start, end) == expected_transitions(windows, earlier, start, end), text


def check_weekly(
    days: list[str], begin: str, finish: str, zone_name: str, where: Where, offsets: list[int]
) -> None:
    zone = ZoneInfo(zone_name)
    start, end = _range(*where)
    skip = _except(where[0], offsets)
    text = RULE.format(zone=zone_name) + f'days = {days!r}\nfrom = "{begin}"\nto = "{finish}"\n'
    text = text.replace("'", '"') + _dates(skip)
    first_day = start.astimezone(zone).date() - timedelta(days=2)
    open_at = datetime.strptime(begin, "%H:%M").time()
    close_at = datetime.strptime(finish, "%H:%M").time()
    windows = []
    for offset in range((end - start).days + 5):
        day = first_day + timedelta(days=offset)
        if DAY_NAMES[day.weekday()] not in days or day in skip:
            continue
        close_day = day + timedelta(days=1) if close_at <= open_at else day
        windows.append(
            (
                first_instant(datetime.combine(day, open_at), zone),
                first_instant(datetime.combine(close_day, close_at), zone),
            )
        )
    # a weekly rule with a day outside the skipped dates has had a window in eight years
    expected = expected_transitions(merged(windows), True, start, end)
    assert planned(text, start, end) == expected, text


TIMES = st.tuples(st.integers(0, 23), st.sampled_from((0, 15, 30, 45))).map(
    lambda hm: f"{hm[0]:02d}:{hm[1]:02d}"
)
WEEKLY = (
    st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=7, unique=True),
    TIMES,
    TIMES,
    PLACES,
    EXCEPT,
)
CRON_CASES = (CRONS, st.sampled_from(DURATIONS), PLACES, EXCEPT)
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(*CRON_CASES)
@example("30 2 * * *", "1h", ("Europe/Berlin", (date(2027, 10, 31), -1, 0, 48)), [])  # twice
@example("0 2 * * *", "1h", ("Europe/Berlin", (date(2027, 3, 28), 0, 0, 48)), [1])  # skipped
@example("0 2 */2 * 5", "1h", ("UTC", (date(2027, 3, 28), -2, 0, 96)), [])  # day rule
def test_cron_windows_match_cronsim(
    cron: str, duration: str, place: tuple[str, Where], offsets: list[int]
) -> None:
    check_cron(cron, duration, *place, offsets)


@QUICK
@given(*WEEKLY)
def test_weekly_windows_match(
    days: list[str], begin: str, finish: str, place: tuple[str, Where], offsets: list[int]
) -> None:
    check_weekly(days, begin, finish, *place, offsets)


@pytest.mark.long
@MANY
@given(*CRON_CASES)
def test_cron_windows_match_cronsim_many(
    cron: str, duration: str, place: tuple[str, Where], offsets: list[int]
) -> None:
    check_cron(cron, duration, *place, offsets)


@pytest.mark.long
@MANY
@given(*WEEKLY)
def test_weekly_windows_match_many(
    days: list[str], begin: str, finish: str, place: tuple[str, Where], offsets: list[int]
) -> None:
    check_weekly(days, begin, finish, *place, offsets)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        # Lord Howe springs forward 30 minutes at 02:00 (to 02:30), falls back at 02:00.
        ("Australia/Lord_Howe", datetime(2027, 10, 3, 2, 10), datetime(2027, 10, 2, 15, 30)),
        ("Australia/Lord_Howe", datetime(2027, 4, 4, 1, 45), datetime(2027, 4, 3, 14, 45)),
        # Chatham (+12:45 / +13:45) springs forward at 02:45 standard time.
        ("Pacific/Chatham", datetime(2027, 9, 26, 3, 0), datetime(2027, 9, 25, 14, 0)),
        ("Europe/Berlin", datetime(2027, 3, 28, 2, 30), datetime(2027, 3, 28, 1, 0)),
        ("Europe/Berlin", datetime(2027, 10, 31, 2, 30), datetime(2027, 10, 31, 0, 30)),
    ],
)
def test_the_reference_dst_rule(zone: str, wall: datetime, expected: datetime) -> None:
    """The independent DST mapping itself, on the SPEC's example and the odd zones."""
    assert first_instant(wall, ZoneInfo(zone)) == expected.replace(tzinfo=UTC)
