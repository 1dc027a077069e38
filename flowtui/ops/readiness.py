"""Team mode's part of readiness (SPEC §8, §9): whether this replica leads or stands by, and
whom it follows. `/readyz` then says `ready: standby (leader host:pid, heartbeat 2 s ago)`,
and the log has a line whenever the leader a standby follows changes (the scheduler logs
its own gains and losses of the lease itself). Read from the lease once a second, off the
event loop; a lease that cannot be renewed or read makes the replica not ready."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from flowtui.ops.health import HealthTracker
from flowtui.providers.redaction import LOGGER_NAME

if TYPE_CHECKING:
    from flowtui.engine.leadership import Leadership

log = logging.getLogger(LOGGER_NAME)

_AGE = re.compile(r"heartbeat \d+ s ago")


class LeadershipWatch:
    """Keeps `health` told of this replica's standing; `look` once per tick."""

    def __init__(self, health: HealthTracker) -> None:
        self.health = health
        self._followed: str | None = None  # a standby's status without its heartbeat's age

    async def look(self, leadership: Leadership) -> None:
        status = await asyncio.to_thread(leadership.status)
        self.health.note_leadership(status, leadership.last_error)
        followed = _AGE.sub("heartbeat", status) if status.startswith("standby") else None
        if followed and self._followed and followed != self._followed:
            log.warning("scheduler %s: %s", leadership.leases.scheduler, status)
        self._followed = followed
