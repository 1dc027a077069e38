"""Wall-clock helpers and the timestamp formats each platform uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_s() -> float:
    return time.time()


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, microseconds kept (as pydantic serialises it)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mysql_datetime(moment: datetime) -> str:
    """`Y-m-d H:i:s`, the format GASSAPI's PHP backend writes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def later_than(previous: datetime) -> datetime:
    """Now, but strictly after `previous`, so every write moves `updated` forward."""
    now = utcnow()
    return now if now > previous else previous + timedelta(microseconds=1)
