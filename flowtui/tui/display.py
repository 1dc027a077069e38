"""How flow states, times and transitions read on screen (text only, no widgets)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from rich.text import Text

from flowtui.model import State
from flowtui.rules import RESTORE, Target

ERROR = "error"
STATE_LOOK: dict[str, tuple[str, str]] = {
    State.ENABLED: ("●", "bold green"),
    State.DISABLED: ("○", "red"),
    State.NOT_PUBLISHED: ("◌", "yellow"),
    State.UNKNOWN: ("?", "magenta"),
    State.PENDING: ("…", "bold cyan"),
    ERROR: ("✖", "bold red"),
}


def state_text(state: str) -> Text:
    symbol, style = STATE_LOOK.get(state, ("?", "magenta"))
    return Text(f"{symbol} {state}", style=style)


def target_text(target: Target) -> str:
    if target is None:
        return "untouched"
    return "restore" if target == RESTORE else str(target)


def duration_text(delta: timedelta) -> str:
    """A short countdown: 45s, 12m, 3h05m, 2d04h."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds % 60:02d}s" if minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def when_text(at: datetime, now: datetime, zone: tzinfo) -> str:
    """`12m · 14:05`; the weekday too when it is not today."""
    local = at.astimezone(zone)
    same_day = local.date() == now.astimezone(zone).date()
    clock = local.strftime("%H:%M") if same_day else local.strftime("%a %H:%M")
    return f"{duration_text(at - now)} · {clock}"


def stamp(at: datetime | None, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else "-"


_KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "space": "space",
    "escape": "esc",
    "exclamation_mark": "!",
    "greater_than_sign": ">",
    "less_than_sign": "<",
}


def key_label(keys: str) -> str:
    """`slash,ctrl+f` → `/ ctrl+f`: keys as a person types them."""
    return " ".join(_KEY_NAMES.get(key.strip(), key.strip()) for key in keys.split(","))


def safe(text: str) -> str | Text:
    """A table cell showing `text` literally (DataTable reads plain strings as markup, and
    names and errors from platforms may hold brackets)."""
    return Text(text) if "[" in text else text
