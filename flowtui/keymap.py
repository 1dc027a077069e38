"""The app's remappable keys by id, as data (no textual), so `flowtui check` can check
`[keys]` (SPEC §2): unknown ids, two actions on one key, a key that shadows a built-in one.
The app's bindings must agree with `DEFAULTS` (tests/tui/test_keymap.py holds them to it).
Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from flowtui.config import did_you_mean

ANYWHERE = "anywhere"
# place → binding id → its default keys (comma-separated, as textual spells them)
DEFAULTS: dict[str, dict[str, str]] = {
    "flows": {
        "enable": "e",
        "disable": "d",
        "toggle": "t",
        "publish": "p",
        "override": "o",
        "mark": "space",
        "details": "enter",
        "cursor_down": "down,j",
        "cursor_up": "up,k",
        "page_down": "pagedown,ctrl+f",
        "page_up": "pageup,ctrl+b",
        "first_row": "home,g",
        "last_row": "end,G",
        "sort_next": "greater_than_sign",
        "sort_previous": "less_than_sign",
        "sort_reverse": "exclamation_mark",
        "filter": "slash",
        "refresh": "r",
        "schedules": "s",
        "audit": "a",
        "pause": "P",
        "clear": "escape",
    },
    ANYWHERE: {"help": "question_mark", "quit": "q", "palette": "ctrl+p"},
    "schedules": {
        "schedules_back": "escape,q",
        "rule_pause": "space",
        "rule_new_window": "n",
        "rule_new_switch": "b",
        "rule_edit": "e",
    },
    "rule form": {"form_cancel": "escape", "form_save": "ctrl+s"},
    "details": {"details_back": "escape,q"},
    "audit": {"audit_back": "escape,q"},
    "confirm": {"confirm_yes": "y", "confirm_no": "escape,n"},
    "override": {"override_cancel": "escape"},
    "help": {"help_close": "escape,q,question_mark"},
}
# Keys textual binds itself (app, screens, tables); a remapped action must not take them.
BUILT_IN: dict[str, str] = {
    "ctrl+q": "quit",
    "ctrl+c": "copy text",
    "super+c": "copy text",
    "tab": "focus next",
    "shift+tab": "focus previous",
    "up": "cursor up",
    "down": "cursor down",
    "left": "cursor left",
    "right": "cursor right",
    "pageup": "page up",
    "pagedown": "page down",
    "home": "scroll home",
    "end": "scroll end",
    "ctrl+home": "scroll to top",
    "ctrl+end": "scroll to bottom",
}
_SPELLINGS = {
    "?": "question_mark",
    "/": "slash",
    " ": "space",
    "!": "exclamation_mark",
    "<": "less_than_sign",
    ">": "greater_than_sign",
}

Located = tuple[tuple[str, ...], str, str | None]  # path, message, hint


def _keys(text: str) -> list[str]:
    return [_SPELLINGS.get(key.strip(), key.strip()) for key in text.split(",") if key.strip()]


def key_problems(keys: Mapping[str, str]) -> Iterator[Located]:
    """Every problem of a `[keys]` table (id → keys), at the entry that causes it."""
    known = {binding: place for place, ids in DEFAULTS.items() for binding in ids}
    for binding, text in keys.items():
        if binding not in known:
            hint = did_you_mean(binding, known) or "press ? in the app for the ids"
            yield ("keys", binding), f"[keys]: no action with id {binding!r}", hint
        elif not _keys(text):
            yield ("keys", binding), f"[keys]: {binding} has no key", 'write e.g. "x" or "f2"'
        for key in _keys(text):
            if binding in known and key in BUILT_IN:
                message = f"[keys]: {key!r} for {binding} is the built-in key for {BUILT_IN[key]}"
                yield ("keys", binding), message, "choose another key"
    yield from _clashes(keys, known)


def _clashes(keys: Mapping[str, str], known: Mapping[str, str]) -> Iterator[Located]:
    """Two actions on one key where both are active (one place, or one place and
    anywhere), when [keys] made the clash (the defaults shadow on purpose: `q` goes back)."""
    effective = {
        binding: _keys(keys.get(binding, default))
        for ids in DEFAULTS.values()
        for binding, default in ids.items()
    }
    order = list(keys)
    reported: set[tuple[str, ...]] = set()
    for place, ids in DEFAULTS.items():
        active = list(ids) if place == ANYWHERE else [*ids, *DEFAULTS[ANYWHERE]]
        holders: dict[str, list[str]] = {}
        for binding in active:
            for key in effective[binding]:
                holders.setdefault(key, []).append(binding)
        for key, bindings in holders.items():
            remapped = [binding for binding in bindings if binding in keys and binding in known]
            pair = tuple(sorted(bindings))
            if len(bindings) < 2 or not remapped or (key, *pair) in reported:
                continue
            reported.add((key, *pair))
            at = max(remapped, key=order.index)
            others = " and ".join(binding for binding in bindings if binding != at)
            yield (
                ("keys", at),
                f"[keys]: {key!r} for {at} is also the key of {others} ({place})",
                "give each action its own key, or remap the other one too",
            )
