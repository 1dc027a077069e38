"""The app's link to the scheduler: embedded in-process when this process can take the
state directory's lock, otherwise a note of who runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowtui.engine.lock import LockHeld, SchedulerLock

if TYPE_CHECKING:
    from flowtui.config import Config
    from flowtui.tui.app import FlowtuiApp


class SchedulerLink:
    """Status of the scheduler for one state directory, as the status bar shows it."""

    def __init__(self, lock: SchedulerLock) -> None:
        self.lock = lock
        self.embedded = False
        self.paused = False
        self.reason = "the scheduler is not embedded in this build"

    @property
    def label(self) -> str:
        if self.embedded:
            return "paused" if self.paused else "running"
        holder = self.holder()
        return f"held by pid {holder}" if holder else "not running"

    def holder(self) -> int | None:
        """The pid of another process holding the lock, or None when nobody holds it."""
        if self.lock.held:
            return None
        try:
            self.lock.acquire()
        except LockHeld as held:
            return held.pid or -1
        self.lock.release()
        return None

    def start(self, app: FlowtuiApp) -> None:
        app.status.update_status(app.now(), scheduler=self.label)

    async def stop(self) -> None:
        self.lock.release()

    def config_changed(self, config: Config) -> None:
        """The app saved a new configuration (the embedded scheduler re-reads it)."""

    def toggle_pause(self) -> None:
        self.paused = not self.paused
