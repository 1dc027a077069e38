"""The bottom line: scheduler state, next transition with a countdown, last refresh, accounts
in error, and read-only mode."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from rich.text import Text
from textual.widgets import Static

from flowtui.rules import Transition
from flowtui.tui.display import duration_text, target_text

TEAM_STYLES = {"ok": "green", "warning": "yellow", "error": "bold red"}


@dataclass(frozen=True)
class Status:
    scheduler: str = "not running"  # running | paused | held by pid N | not running
    health: str = ""  # what /readyz would say: "ready" or "not ready: why" (flowtui.ops.health)
    next_transition: Transition | None = None
    refreshed: datetime | None = None
    refreshing: bool = False
    errors: tuple[str, ...] = ()
    read_only: bool = False
    planned: int = 0  # read-only: flows the scheduler would have changed
    last_planned: str = ""  # the latest of them, e.g. `crm:517 → disabled (nightly)`
    # team mode (SPEC §8): the leader and its heartbeat, or why the database is unusable
    team: str = ""
    team_level: str = "ok"  # ok | warning | error


class StatusBar(Static):
    """Redrawn from a `Status` and the clock; the app ticks it once a second."""

    def __init__(self, zone: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zone = zone
        self.status = Status()

    def update_status(self, now: datetime, **changes: object) -> None:
        self.status = replace(self.status, **changes)  # type: ignore[arg-type]
        self.tick(now)

    def tick(self, now: datetime) -> None:
        status = self.status
        text = Text()
        if status.read_only:
            text.append(" READ-ONLY ", style="bold black on yellow")
            if status.planned:
                text.append(f" would have changed {status.planned} flow(s)", style="bold")
                text.append(f", last {status.last_planned}", style="dim")
            else:
                text.append(" changes nothing", style="dim")
            text.append("  │  ", style="dim")
        if status.team:
            text.append(status.team, style=TEAM_STYLES.get(status.team_level, "yellow"))
            if status.scheduler == "paused":  # this app's scheduler, as the candidate it is
                text.append(" · paused", style="yellow")
        else:
            style = "green" if status.scheduler == "running" else "yellow"
            text.append("scheduler ", style="dim")
            text.append(status.scheduler, style=style)
        if status.health:
            text.append(f" · {status.health}", style="green" if status.health == "ready" else "red")
        text.append("  │  ", style="dim")
        transition = status.next_transition
        if transition is None:
            text.append("no transition in the next 7 days", style="dim")
        else:
            local = transition.at.astimezone(self.zone).strftime("%a %H:%M")
            text.append("next ", style="dim")
            target = target_text(transition.to_state)
            text.append(f"{transition.rule}: {transition.flow} → {target}")
            text.append(f" in {duration_text(transition.at - now)}", style="bold")
            text.append(f" ({local})", style="dim")
        text.append("  │  ", style="dim")
        if status.refreshing and status.refreshed is None:
            text.append("reading accounts…", style="cyan")
        elif status.refreshed is not None:
            text.append("refreshed ", style="dim")
            text.append(status.refreshed.astimezone(self.zone).strftime("%H:%M:%S"))
            if status.refreshing:
                text.append(" ⟳", style="cyan")
        if status.errors:
            text.append("  │  ", style="dim")
            text.append(f"accounts in error: {', '.join(status.errors)}", style="bold red")
        self.update(text, layout=False)  # always one line: no layout pass every second
