"""flowtui.keymap (what `check` knows of the app's keys, without textual) agrees with the
app's bindings: every remappable id, its default keys and where it is active."""

from __future__ import annotations

from textual.binding import Binding

from flowtui.keymap import ANYWHERE, DEFAULTS
from flowtui.tui.app import FlowtuiApp, screen_keys
from flowtui.tui.screens.main import MainScreen
from flowtui.tui.widgets.flow_table import FlowTable


def test_the_keymap_matches_the_bindings_of_the_app() -> None:
    places = [("flows", FlowTable), ("flows", MainScreen), (ANYWHERE, FlowtuiApp), *screen_keys()]
    found: dict[str, dict[str, str]] = {}
    for where, owner in places:
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(where, {})[binding.id] = binding.key
    assert found == DEFAULTS
