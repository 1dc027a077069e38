"""Times a person types are read one way everywhere (SPEC §2): without an offset, in
settings.timezone, under the DST rule of rule starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowtui import typed_time
from flowtui.cli.audit import parse_since
from flowtui.cli.override import parse_until

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-27 02:30", datetime(2027, 3, 27, 1, 30, tzinfo=UTC)),  # CET
        ("2027-03-28T02:30", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),  # gap: 03:00 CEST
        ("2027-10-31 02:30", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),  # twice: the first
        ("2027-03-28T02:30+00:00", datetime(2027, 3, 28, 2, 30, tzinfo=UTC)),  # offset wins
    ],
)
def test_an_offset_less_time_is_a_wall_time_in_the_zone_with_the_dst_rule(
    text: str, expected: datetime
) -> None:
    assert typed_time.instant(text, BERLIN) == expected
    assert typed_time.start(text, NOW, BERLIN) == expected
    assert parse_until(text, NOW, BERLIN) == expected  # override --until
    assert typed_time.until(text, NOW, BERLIN) == expected  # the app's `o`
    assert parse_since(text, NOW, BERLIN) == expected  # audit --since


def test_durations_count_from_now_and_bad_text_says_why() -> None:
    assert typed_time.until("2h", NOW, BERLIN) == NOW + timedelta(hours=2)
    assert typed_time.since("1d", NOW, BERLIN) == NOW - timedelta(days=1)
    assert typed_time.start(None, NOW, BERLIN) == NOW
    with pytest.raises(ValueError, match="is neither a duration"):
        typed_time.until("tomorrow", NOW, BERLIN)
    with pytest.raises(ValueError, match="is not in the future"):
        typed_time.until("2027-03-01 12:59", NOW, BERLIN)  # 11:59 UTC
    with pytest.raises(ValueError, match="is not a date and time"):
        typed_time.start("2027-03-01", NOW, BERLIN)
