"""The command palette (ctrl+p): the same actions as the keys, by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Enable flows", "enable the marked flows, or the one under the cursor", "change('enable')"),
    ("Disable flows", "disable the marked flows, or the one under the cursor", "change('disable')"),
    ("Toggle flows", "switch the marked flows, or the one under the cursor", "change('toggle')"),
    ("Publish flows", "publish Diga drafts so that they can be enabled", "publish"),
    ("Override flows", "pin flows at a state for a while (beats every rule)", "override"),
    ("Refresh now", "read every account again", "refresh_now"),
    ("Schedules", "rules, their next transitions and the week's timeline", "schedules"),
    ("Audit log", "every change, newest first", "audit"),
    ("Flow details", "platform JSON and audit history of the flow under the cursor", "details"),
    ("Pause or resume the scheduler", "stop or restart scheduled changes", "pause"),
    ("Keys", "the active keymap", "help"),
)


class FlowCommands(Provider):
    """Every flowtui action, matched fuzzily by title."""

    async def discover(self) -> Hits:
        for title, help_text, action in ACTIONS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)
