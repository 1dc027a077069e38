"""A picture of the coming days: one lane per rule, its windows as bars, a marker at now,
days with a daylight-saving change marked. Text only (rich), no widgets: the app's
schedules screen and `flowtui plan --timeline` draw the same picture."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text

from flowtui.config import AbSwitchRule, Config, Rule
from flowtui.rules import Window, timeline_for

DAYS = 7
LABEL = 22
WINDOW_BAR = "█"
A_BAR = "─"
IDLE = "·"


def day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def dst_change(day: datetime, zone: ZoneInfo) -> bool:
    """Whether the UTC offset differs between the start and the end of the local `day`."""
    start = day.replace(tzinfo=zone)
    end = (day + timedelta(days=1)).replace(tzinfo=zone)
    return start.utcoffset() != end.utcoffset()


def lane(
    windows: list[Window], begin: datetime, end: datetime, cells: int, bar: str, idle: str
) -> str:
    """`cells` characters for [begin, end): `bar` where a window overlaps the cell."""
    step = (end - begin) / cells
    chars = []
    for index in range(cells):
        low, high = begin + index * step, begin + (index + 1) * step
        chars.append(bar if any(w[0] < high and w[1] > low for w in windows) else idle)
    return "".join(chars)


def render_timeline(config: Config, now: datetime, width: int = 120) -> Text:
    """The week from today's local midnight (settings.timezone), `width` characters wide."""
    zone = ZoneInfo(config.settings.timezone)
    per_day = max(4, min(24, (width - LABEL - 1) // DAYS))
    first = day_start(now, zone).replace(tzinfo=None)
    days = [first + timedelta(days=n) for n in range(DAYS + 1)]
    starts = [day.replace(tzinfo=zone) for day in days]  # wall midnights: DST days differ
    text = Text()
    header = "".ljust(LABEL)
    for day in days[:DAYS]:
        label = day.strftime("%a %d") + ("*" if dst_change(day, zone) else "")
        header += label[:per_day].ljust(per_day)
    text.append(header + "\n", style="bold")
    today = starts[1] - starts[0]
    now_column = int((now - starts[0]) / (today / per_day))
    text.append(" " * (LABEL + now_column) + "▼ now\n", style="bold yellow")
    for rule in config.rules:
        text.append_text(_rule_lane(config, rule, starts, per_day, now_column))
        text.append("\n")
    text.append(
        f"{WINDOW_BAR} window (A/B: group B on)  {A_BAR} A/B: group A on  "
        f"{IDLE} idle  * daylight-saving change that day  (times in {zone.key})",
        style="dim",
    )
    return text


def _rule_lane(
    config: Config,
    rule: Rule,
    starts: list[datetime],
    per_day: int,
    now_column: int,
) -> Text:
    idle = A_BAR if isinstance(rule, AbSwitchRule) else IDLE
    line = Text(_label(rule).ljust(LABEL)[:LABEL], style="dim" if rule.paused else "bold")
    windows = timeline_for(rule, config.zone(rule)).windows(starts[0], starts[-1])
    style = "magenta" if isinstance(rule, AbSwitchRule) else "red"
    style = "grey50" if rule.paused else style
    for begin, end in itertools.pairwise(starts):
        line.append(lane(windows, begin, end, per_day, WINDOW_BAR, idle), style=style)
    if 0 <= now_column < len(line) - LABEL:
        line.stylize("reverse", LABEL + now_column, LABEL + now_column + 1)
    return line


def _label(rule: Rule) -> str:
    return f"{rule.name} (paused)" if rule.paused else rule.name
