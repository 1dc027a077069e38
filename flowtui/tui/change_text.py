"""What a change is about to do and what it did, in the words the app shows (no widgets):
the confirmation's question, the no-op test that skips it, and platform hints that name a
CLI command rewritten to name the app's key."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from flowtui.model import State
from flowtui.providers.base import SETTABLE
from flowtui.tui.control import FlowRow

SHOWN_FLOWS = 3  # flows named in a question; the others are counted
TARGETS = {"enable": State.ENABLED, "disable": State.DISABLED}
CLI_PUBLISH = re.compile(r"flowtui publish \S+")


def target(action: str, state: State) -> State | None:
    """The state `action` leaves a flow in that is `state` now (None: cannot tell)."""
    if action in TARGETS:
        return TARGETS[action]
    if action == "toggle" and state in SETTABLE:
        return State.DISABLED if state is State.ENABLED else State.ENABLED
    return None


def changes_nothing(action: str, rows: Sequence[FlowRow]) -> bool:
    """Every flow is already where `action` would put it (as last read)."""
    return bool(rows) and all(target(action, row.state) == row.state for row in rows)


def question(action: str, rows: Sequence[FlowRow]) -> str:
    """`Disable 3 flows: a, b, c?` then what happens to them: `2 enabled → disabled,
    1 already disabled (left alone)`."""
    names = ", ".join(row.key for row in rows[:SHOWN_FLOWS])
    if len(rows) > SHOWN_FLOWS:
        names += f" and {len(rows) - SHOWN_FLOWS} more"
    count = f"{len(rows)} flows" if len(rows) != 1 else "flow"
    moves: Counter[str] = Counter()
    for row in rows:
        after = target(action, row.state)
        if action == "publish":
            moves[f"{row.state} → published"] += 1
        elif after == row.state:
            moves[f"already {row.state} (left alone)"] += 1
        else:
            moves[f"{row.state} → {after or 'switched'}"] += 1
    what = ", ".join(f"{n} {move}" for move, n in sorted(moves.items(), key=lambda m: -m[1]))
    return f"{action.capitalize()} {count} {names}?\n{what}"


def in_app_words(message: str, publish_key: str) -> str:
    """A platform hint naming the CLI command, as the app's key instead."""
    return CLI_PUBLISH.sub(f"press {publish_key} to publish", message)
