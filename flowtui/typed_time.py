"""Times a person types (`plan --from`, `override --until`, `audit --since`, the app's `o`,
the rule form's start and end), read one way everywhere (SPEC §2): an ISO 8601 date and
time — `T` or a space between — or, where it makes sense, a duration (`2h`, `1d`, `P1D`).
Without an offset the time is a wall time in `settings.timezone`, under the DST rule of rule
starts: a time that does not exist that day is the first valid instant after it, one that
exists twice is the first. Pure: `now` is a parameter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flowtui.durations import parse_duration
from flowtui.rules import local_instant

HINT = "write e.g. 2026-12-24 18:00 or 2026-12-24T18:00+01:00"
_DATE_AND_TIME = re.compile(r"\d[T ]\d", re.IGNORECASE)


def wall_or_instant(text: str, hint: str = HINT) -> datetime:
    """The date and time `text` names, as written: naive without an offset, aware with one;
    ValueError saying so, with `hint`, otherwise."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or not _DATE_AND_TIME.search(text):
        raise ValueError(f"{text!r} is not a date and time ({hint})")
    return value


def instant(text: str, zone: ZoneInfo) -> datetime:
    """The UTC instant `text` names; without an offset, a wall time in `zone`."""
    value = wall_or_instant(text)
    return value.astimezone(UTC) if value.tzinfo else local_instant(value, zone)


def instant_or_offset(text: str, now: datetime, zone: ZoneInfo, *, sign: int = 1) -> datetime:
    """A duration from `now` (forward; backward with `sign=-1`) or a time as `instant`."""
    try:
        return now + sign * parse_duration(text.strip())
    except ValueError:
        pass
    try:
        return instant(text, zone)
    except ValueError:
        raise ValueError(
            f"{text.strip()!r} is neither a duration (2h, 1d) nor a date and time ({HINT})"
        ) from None


def until(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The end of an override: a duration from `now` or a time, after `now`."""
    end = instant_or_offset(text, now, zone)
    if end <= now:
        raise ValueError(f"{text.strip()!r} is not in the future")
    return end


def since(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The start of a look back: a duration back from `now` or a time."""
    return instant_or_offset(text, now, zone, sign=-1)


def start(text: str | None, now: datetime, zone: ZoneInfo) -> datetime:
    """The start of a look ahead: `now` (no text, or "now") or a time."""
    if text is None or text.strip() == "now":
        return now
    return instant(text, zone)
