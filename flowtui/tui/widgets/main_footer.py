"""The main screen's footer: the app's own keys (`?` Help, `q` Quit) lead, so that at 80
columns the keys cut off at the right are flow keys, which `?` lists, never the way to it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST = ("help", "quit")  # actions of the app's bindings, in the order shown


class MainFooter(Footer):
    def compose(self) -> ComposeResult:
        # (flowtui's bindings have no groups, so Footer yields only keys, no KeyGroup.)
        keys = list(super().compose())
        first = sorted(
            (key for key in keys if isinstance(key, FooterKey) and key.action in FIRST),
            key=lambda key: FIRST.index(key.action),
        )
        yield from first
        yield from (key for key in keys if key not in first)
