"""The command palette (ctrl+p): every key of the main screen, by the name `?` gives it,
with the key as it is mapped now — run from the palette as if the key was pressed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from flowtui.tui.app import FlowtuiApp

Command = tuple[str, str, Callable[[], Awaitable[object]]]  # title, help, run


class FlowCommands(Provider):
    """The main screen's actions, matched fuzzily by name."""

    def _commands(self) -> Iterator[Command]:
        app: FlowtuiApp = self.app  # type: ignore[assignment]
        for title, key, run in app.palette_commands():
            yield title, f"key: {key}", run

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)
