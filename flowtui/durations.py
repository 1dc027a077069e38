"""Durations as written in schedules.toml: `90s`, `15m`, `2h`, `1d`, `1h30m`, or ISO 8601
(`PT2H`, `P1D`, `P1DT12H`). Durations are elapsed time (a day is 24 hours). Pure."""

from __future__ import annotations

import re
from datetime import timedelta

_COMPACT = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?"
)
_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?"
)
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
LONGEST = timedelta(days=36_525)  # a century: longer ones overflow date arithmetic (or timedelta)
HINT = "write e.g. 90s, 15m, 2h, 1d, 1h30m or ISO 8601 like PT2H"


def parse_duration(text: str) -> timedelta:
    """The positive duration `text` means; ValueError with a one-line reason otherwise."""
    cleaned = text.strip()
    match = _COMPACT.fullmatch(cleaned.lower()) or _ISO.fullmatch(cleaned.upper())
    if cleaned in ("", "P", "PT") or match is None or cleaned.upper().endswith("T"):
        raise ValueError(f"{text!r} is not a duration")
    seconds = sum(
        float(value.replace(",", ".")) * _UNITS[unit]
        for unit, value in match.groupdict().items()
        if value is not None
    )
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"duration {text!r} is longer than {LONGEST.days} days")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The compact form `parse_duration` reads back to the same value, e.g. `1h30m`."""
    total = value.total_seconds()
    if total != int(total):
        return f"PT{total:g}S"
    remaining = int(total)
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, remaining = divmod(remaining, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
