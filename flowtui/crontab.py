"""Standard 5-field cron over wall-clock time (SPEC §2, crontab(5)). Pure.

`minute hour day-of-month month day-of-week`, each a comma list of `*`, `N` or `N-M`, any of
them with a `/step` (`N/step` runs to the field's end; a step larger than its range fires at
the range's start: `15-26/15` is `15`), month and day names (`JAN`, `SUN`), day-of-week 0
or 7 for Sunday. crontab(5)'s day rule: when both day fields are restricted, a day matching
either fires; a field that starts with `*` (`*/2`) counts as unrestricted, so the other
must match too. The fire times are *local* wall times (naive datetimes); mapping them to
instants (and the DST corrections) belongs to flowtui.rules.

Each field becomes a set of values once, so the fires of a day are a product of sets:
stepping a general-purpose trigger minute by minute was the cost of `plan` on many rules.
"""

from __future__ import annotations

import functools
import itertools
from datetime import date, datetime, time, timedelta

MINUTES_PER_DAY = 24 * 60
_DAY_CACHE_LIMIT = 20_000  # days of fire times kept per expression
_SEARCH_DAYS = 8 * 366 + 2  # the longest gap between fires: Feb 29 across a skipped leap
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_HINT = "use 5 fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * SUN'"


class CronError(ValueError):
    """A cron expression that cannot be used; `hint` says how to write one."""

    hint = _HINT


class _Field:
    """One field's name, range and value names (the first name is worth `first`)."""

    def __init__(
        self, name: str, first: int, last: int, names: tuple[str, ...] = (), star_last: int = 0
    ) -> None:
        self.name, self.first, self.last, self.names = name, first, last, names
        self.star_last = star_last or last  # `*` in day-of-week: 0-6 (7 is Sunday again)

    def value(self, token: str) -> int:
        lowered = token.lower()
        if lowered in self.names:
            return self.names.index(lowered) + (1 if self.name == "month" else 0)
        if not token.isdigit():
            raise CronError(f"{self.name} value {token!r} is not a number or a name")
        number = int(token)
        if number < self.first:
            raise CronError(f"{self.name} value {number} is lower than the minimum ({self.first})")
        if number > self.last:
            raise CronError(f"{self.name} value {number} is higher than the maximum ({self.last})")
        return number

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (five fields, made once)
    def values(self, text: str) -> frozenset[int]:
        found: set[int] = set()
        for part in text.split(","):
            base, slash, step_text = part.partition("/")
            if slash and (not step_text.isdigit() or int(step_text) == 0):
                raise CronError(f"bad step in {self.name} {part!r}")
            step = int(step_text) if slash else 1
            if base in ("*", "?"):
                low, high = self.first, self.star_last
            elif "-" in base:
                start, _, end = base.partition("-")
                low, high = self.value(start), self.value(end)
                if self.name == "day-of-week" and high == 0 and low > 0:  # FRI-SUN
                    high = 7
                if high < low:
                    raise CronError(f"{self.name} range {base!r} runs backwards")
            else:
                low = self.value(base)
                high = self.last if slash else low
            found.update(range(low, high + 1, step))
        if self.name == "day-of-week":
            found = {day % 7 for day in found}
        return frozenset(found)


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES),
    _Field("day-of-week", 0, 7, _DAY_NAMES, star_last=6),
)


class WallCron:
    """The fire times of one cron expression on a wall clock (naive datetimes)."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != len(_FIELDS):
            raise CronError(f"cron {expression!r} has {len(fields)} fields, expected 5")
        try:
            minutes, hours, days, months, weekdays = (
                field.values(text) for field, text in zip(_FIELDS, fields, strict=True)
            )
        except CronError as error:
            raise CronError(f"cron {expression!r}: {error}") from None
        self.expression = expression
        self._times = tuple(
            time(hour, minute) for hour in sorted(hours) for minute in sorted(minutes)
        )
        self._days_of_month, self._months, self._weekdays = days, months, weekdays
        # crontab(5): both restricted (neither starts with `*`) → either matches.
        self._either = not fields[2].startswith(("*", "?")) and not fields[4].startswith(("*", "?"))
        self._days: dict[date, tuple[datetime, ...]] = {}

    def fires_on_day(self, day: date) -> bool:
        """Whether `day` is one the expression fires on (at its times)."""
        if day.month not in self._months:
            return False
        by_date = day.day in self._days_of_month
        by_weekday = (day.weekday() + 1) % 7 in self._weekdays
        return by_date or by_weekday if self._either else by_date and by_weekday

    def fires_on(self, day: date) -> tuple[datetime, ...]:
        """Wall times on `day`, remembered: rules evaluate the same few days over and over."""
        cached = self._days.get(day)
        if cached is None:
            if len(self._days) >= _DAY_CACHE_LIMIT:
                self._days.clear()
            cached = self._days[day] = (
                tuple(datetime.combine(day, moment) for moment in self._times)
                if self.fires_on_day(day)
                else ()
            )
        return cached

    def next_fire(self, after: datetime) -> datetime | None:
        """The first wall time strictly after `after` (naive), or None if there is none
        within eight years (then there is none at all)."""
        day = after.date()
        for _ in range(_SEARCH_DAYS):
            if self.fires_on_day(day):
                for fire in self.fires_on(day):
                    if fire > after:
                        return fire
            day += timedelta(days=1)
        return None

    def times_of_day(self) -> tuple[int, ...]:
        """The minutes after midnight at which it fires on any day it fires (ascending)."""
        return tuple(moment.hour * 60 + moment.minute for moment in self._times)

    def shortest_day_gap(self, after: datetime, days: int) -> int | None:
        """The fewest days between two consecutive days it fires on, among the first `days`
        such days after `after`; None if it fires on fewer than two."""
        found: list[date] = []
        fire = self.next_fire(after)
        while fire is not None and len(found) < days:
            found.append(fire.date())
            fire = self.next_fire(datetime.combine(fire.date(), time.max))
        return min(((b - a).days for a, b in itertools.pairwise(found)), default=None)

    def fires(self, start: datetime, end: datetime) -> list[datetime]:
        """Wall times in `[start, end)` (naive)."""
        found: list[datetime] = []
        day, last = start.date(), end.date()
        while day <= last:
            found.extend(fire for fire in self.fires_on(day) if start <= fire < end)
            day += timedelta(days=1)
        return found
