"""Maintenance windows and A/B switch periods as an RFC 5545 calendar (icalendar), for
people outside the team. Pure: the range and the stamp are parameters.

`calendar_ics` is what `flowtui calendar` prints and what an HTTP server serves as
`/calendar.ics` (media type `MEDIA_TYPE`). Each event's UID is derived from its rule's
name and its start, so a subscribed calendar updates events instead of duplicating them;
times are UTC, and each description names the rule's zone and local times.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import icalendar

from flowtui.config import Config, MaintenanceRule, Rule
from flowtui.rules import Timeline, Window, timeline_for

MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//flowtui//schedules.toml windows//EN"
MAX_LISTED_FLOWS = 10  # more flows than this are described by their count
# How far to look for the B window before (after) an A period: as far as rules looks.
_SEARCH = tuple(timedelta(days=days) for days in (1, 8, 32, 367, 2923))


Kind = Literal["maintenance", "a", "b"]


@dataclass(frozen=True)
class CalendarEvent:
    """One window of one rule: `kind` is `maintenance`, or the group (`a`, `b`) of an
    A/B switch that is on."""

    rule: str
    kind: Kind
    start: datetime
    end: datetime
    summary: str
    description: str

    @property
    def uid(self) -> str:
        digest = hashlib.sha256(self.rule.encode()).hexdigest()[:16]
        return f"{self.kind}-{self.start:%Y%m%dT%H%M%SZ}-{digest}@flowtui"


def calendar_events(
    config: Config, start: datetime, end: datetime, rule: str | None = None
) -> list[CalendarEvent]:
    """The events of every active rule (or only `rule`) that overlap [start, end), by
    start. Windows keep their true start and end even where they cross the range."""
    events: list[CalendarEvent] = []
    for candidate in config.rules:
        if candidate.paused or (rule is not None and candidate.name != rule):
            continue
        timeline = timeline_for(candidate, config.zone(candidate))
        windows: Iterable[tuple[Kind, Window]] = (
            (("maintenance", window) for window in timeline.windows(start, end))
            if isinstance(candidate, MaintenanceRule)
            else _switch_periods(timeline, start, end)
        )
        events.extend(
            _event(config, candidate, kind, window)
            for kind, window in windows
            if window[0] < end and window[1] > start
        )
    return sorted(events, key=lambda event: (event.start, event.rule, event.kind))


def calendar_ics(
    config: Config,
    start: datetime,
    end: datetime,
    rule: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The RFC 5545 calendar of `calendar_events`; `stamp` (each event's DTSTAMP, the
    moment the calendar was made) defaults to `start`."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "flowtui windows")
    calendar.add("x-wr-timezone", config.settings.timezone)
    for event in calendar_events(config, start, end, rule):
        component = icalendar.Event()
        component.add("uid", event.uid)
        component.add("dtstamp", stamp or start)
        component.add("dtstart", event.start)
        component.add("dtend", event.end)
        component.add("summary", event.summary)
        component.add("description", event.description)
        component.add("categories", ["maintenance" if event.kind == "maintenance" else "ab_switch"])
        component.add("transp", "TRANSPARENT")
        calendar.add_component(component)
    return calendar.to_ical()


# -- A/B switch periods ----------------------------------------------------------------


def _switch_periods(
    timeline: Timeline, start: datetime, end: datetime
) -> Iterator[tuple[Kind, Window]]:
    """The B windows touching [start, end] and the A periods around and between them
    (each from the end of one B window to the start of the next). An alternation governs
    nothing before its start."""
    b_windows = timeline.windows(start, end)
    before = _last_end(timeline, b_windows[0][0] if b_windows else start)
    boundaries = [
        timeline.begins if before is None else before,
        *itertools.chain.from_iterable(b_windows),
        _first_start(timeline, b_windows[-1][1] if b_windows else end),
    ]
    for index, (begin, close) in enumerate(itertools.pairwise(boundaries)):
        if begin is None or close is None:
            continue  # no B window on that side within eight years: no end to show
        kind: Kind = "a" if index % 2 == 0 else "b"
        yield kind, (begin, close)


def _last_end(timeline: Timeline, moment: datetime) -> datetime | None:
    """The end of the last B window that ends at or before `moment`."""
    for span in _SEARCH:
        ends = [close for _, close in timeline.windows(moment - span, moment) if close <= moment]
        if ends:
            return max(ends)
    return None


def _first_start(timeline: Timeline, moment: datetime) -> datetime | None:
    """The start of the first B window that starts at or after `moment`."""
    for span in _SEARCH:
        starts = [begin for begin, _ in timeline.windows(moment, moment + span) if begin >= moment]
        if starts:
            return min(starts)
    return None


# -- text ------------------------------------------------------------------------------


def _flows(config: Config, refs: tuple[str, ...]) -> str:
    names = [str(config.resolve(ref)) for ref in refs]
    if len(names) > MAX_LISTED_FLOWS:
        return f"{len(names)} flows"
    return ", ".join(names)


def _local(window: Window, zone: ZoneInfo) -> str:
    begin, close = (moment.astimezone(zone) for moment in window)
    return f"{begin:%a %Y-%m-%d %H:%M %Z} – {close:%a %Y-%m-%d %H:%M %Z}"


def _event(config: Config, rule: Rule, kind: Kind, window: Window) -> CalendarEvent:
    zone = config.zone(rule)
    local = f"zone: {zone.key}, {_local(window, zone)}"
    if isinstance(rule, MaintenanceRule):
        summary = f"{rule.name}: {rule.state}"
        lines = [
            f"rule: {rule.name} (maintenance window)",
            f"state: {rule.state} during the window, then {rule.after}",
            f"flows: {_flows(config, rule.flows)}",
        ]
    else:
        on, off = (rule.b, rule.a) if kind == "b" else (rule.a, rule.b)
        summary = f"{rule.name}: group {kind.upper()} on"
        lines = [
            f"rule: {rule.name} (A/B switch)",
            f"state: group {kind.upper()} enabled, group {'A' if kind == 'b' else 'B'} disabled",
            f"enabled: {_flows(config, on)}",
            f"disabled: {_flows(config, off)}",
        ]
    return CalendarEvent(rule.name, kind, *window, summary, "\n".join([*lines, local]))
