"""Standard 5-field cron over wall-clock time, built on APScheduler 3's `CronTrigger`.

Two differences between standard cron and APScheduler 3 are bridged here (no cron parsing
of our own beyond that): day-of-week numbers (cron: 0 and 7 are Sunday; APScheduler: 0 is
Monday), and a restricted day-of-month *and* day-of-week (cron: either matches;
APScheduler: both must). The trigger runs in UTC used as a plain wall clock, so a fire
time is a *local* wall time; mapping it to an instant (and the DST corrections) belongs to
flowtui.rules. Pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

_DAY_CACHE_LIMIT = 20_000  # days of fire times kept per expression
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_HINT = "use 5 fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * SUN'"


class CronError(ValueError):
    """A cron expression that cannot be used; `hint` says how to write one."""

    hint = _HINT


def _day_number(token: str) -> int:
    name = token.lower()[:3]
    if name in _DAY_NAMES:
        return _DAY_NAMES.index(name)
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    raise CronError(f"{token!r} is not a day of the week (0-7 or SUN-SAT)")


def _days(field: str) -> str:
    """Standard cron day-of-week field → an explicit APScheduler day list."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if (step_text and not step_text.isdigit()) or step_text == "0":
            raise CronError(f"bad step in day-of-week {part!r}")
        step = int(step_text or 1)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, _, high = base.partition("-")
            first, last = _day_number(low), _day_number(high)
            if last == 0 and first > 0:  # `5-7`, `FRI-SUN`: Sunday ends the week
                last = 7
            if last < first:
                raise CronError(f"day-of-week range {base!r} runs backwards")
        else:
            first = _day_number(base)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    # APScheduler 3 numbers days from Monday; names avoid any ambiguity.
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


class WallCron:
    """The fire times of one cron expression on a wall clock (naive datetimes)."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise CronError(f"cron {expression!r} has {len(fields)} fields, expected 5")
        minute, hour, day, month, weekday = fields
        weekdays = _days(weekday)
        try:
            if day not in ("*", "?") and weekdays != "*":
                # Standard cron: either the day of month or the day of week matches.
                self._triggers = (
                    CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=UTC),
                    CronTrigger(
                        minute=minute, hour=hour, month=month, day_of_week=weekdays, timezone=UTC
                    ),
                )
            else:
                day = "*" if day == "?" else day
                self._triggers = (
                    CronTrigger(
                        minute=minute,
                        hour=hour,
                        day=day,
                        month=month,
                        day_of_week=weekdays,
                        timezone=UTC,
                    ),
                )
        except ValueError as error:
            raise CronError(f"cron {expression!r}: {error}") from None
        self.expression = expression
        self._days: dict[date, tuple[datetime, ...]] = {}
        self._first_fires: dict[date, datetime] = {}  # found while filling an earlier day

    def next_fire(self, after: datetime) -> datetime | None:
        """The first wall time strictly after `after` (naive), or None if there is none."""
        start = after.replace(tzinfo=UTC) + timedelta(microseconds=1)
        candidates = [
            fire
            for trigger in self._triggers
            if (fire := trigger.get_next_fire_time(None, start)) is not None
        ]
        return min(candidates).replace(tzinfo=None) if candidates else None

    def fires(self, start: datetime, end: datetime) -> list[datetime]:
        """Wall times in `[start, end)` (naive)."""
        found: list[datetime] = []
        for offset in range((end.date() - start.date()).days + 1):
            day = self.fires_on(start.date() + timedelta(days=offset))
            found.extend(fire for fire in day if start <= fire < end)
        return found

    def fires_on(self, day: date) -> tuple[datetime, ...]:
        """Wall times on `day`, remembered: rules evaluate the same few days over and over."""
        cached = self._days.get(day)
        if cached is None:
            if len(self._days) >= _DAY_CACHE_LIMIT:
                self._days.clear()
                self._first_fires.clear()
            fire = self._first_fires.pop(day, None) or self.next_fire(
                datetime.combine(day, time()) - timedelta(microseconds=1)
            )
            found = []
            while fire is not None and fire.date() == day:
                found.append(fire)
                fire = self.next_fire(fire)
            cached = self._days[day] = tuple(found)
            if fire is not None:
                # The days up to the next fire have none, and that fire is its day's first.
                quiet = (fire.date() - day).days
                for offset in range(1, min(quiet, 400)):
                    self._days.setdefault(day + timedelta(days=offset), ())
                if fire.date() not in self._days:
                    self._first_fires[fire.date()] = fire
        return cached
