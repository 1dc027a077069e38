"""Incidents behind notifications: one message when a problem begins, one when it has been
over for `recover_after` — however often it flaps in between (SPEC §9). Pure: every
method takes the time.

An incident has a key (`account:crm`, `change_failed:<rule>`, …) and subjects (the flows or
the account concerned, each with its detail). A subject reported failing keeps the incident
going; a subject reported healthy leaves it. An incident is announced once it has lasted
its kind's delay (`after` for unreachable accounts, at once for the others); one that ends
before it is announced is forgotten silently. An announced incident with no failing subject
left is announced as recovered only after `recover_after` without a new failure, so an
account going down and up twenty times a minute costs two messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PROBLEM = "problem"
RECOVERED = "recovered"
NOTICE = "notice"


@dataclass(frozen=True)
class Message:
    """One notification, before it is formatted for a target."""

    kind: str  # one of flowtui.config.NOTIFY_ON
    key: str
    status: str  # problem | recovered | notice
    title: str
    at: datetime
    since: datetime | None = None
    subjects: tuple[tuple[str, str], ...] = ()  # (flow or account, detail)


@dataclass
class _Incident:
    kind: str
    title: str
    since: datetime
    subjects: dict[str, str] = field(default_factory=dict)
    announced: bool = False
    clear_since: datetime | None = None
    announced_subjects: tuple[tuple[str, str], ...] = ()


class Incidents:
    def __init__(self, delays: Mapping[str, timedelta], recover_after: timedelta) -> None:
        """`delays`: how long an incident of a kind lasts before it is announced (0 if absent)."""
        self._delays = dict(delays)
        self._recover_after = recover_after
        self._open: dict[str, _Incident] = {}
        self._notices: dict[str, datetime] = {}

    def failing(
        self, key: str, kind: str, title: str, subject: str, detail: str, now: datetime
    ) -> None:
        incident = self._open.get(key)
        if incident is None:
            incident = self._open[key] = _Incident(kind, title, now)
        incident.subjects[subject] = detail
        incident.clear_since = None

    def healthy(self, key: str, subject: str, now: datetime) -> None:
        incident = self._open.get(key)
        if incident is None:
            return
        incident.subjects.pop(subject, None)
        if incident.subjects:
            return
        if not incident.announced:
            del self._open[key]
        elif incident.clear_since is None:
            incident.clear_since = now

    def notice(self, key: str, kind: str, title: str, now: datetime) -> list[Message]:
        """A one-off event (leadership moved): a message, unless one for `key` was sent
        within `recover_after`."""
        last = self._notices.get(key)
        if last is not None and now - last < self._recover_after:
            return []
        self._notices[key] = now
        return [Message(kind, key, NOTICE, title, now)]

    def due(self, now: datetime) -> list[Message]:
        """The messages that are due at `now`: incidents that have lasted their delay, and
        announced ones that have been over for `recover_after`."""
        messages = []
        for key, incident in list(self._open.items()):
            delay = self._delays.get(incident.kind, timedelta(0))
            if not incident.announced and now - incident.since >= delay:
                incident.announced = True
                incident.announced_subjects = tuple(sorted(incident.subjects.items()))
                messages.append(
                    Message(
                        incident.kind,
                        key,
                        PROBLEM,
                        incident.title,
                        now,
                        incident.since,
                        incident.announced_subjects,
                    )
                )
            elif (
                incident.clear_since is not None
                and now - incident.clear_since >= self._recover_after
            ):
                del self._open[key]
                messages.append(
                    Message(
                        incident.kind,
                        key,
                        RECOVERED,
                        incident.title,
                        now,
                        incident.since,
                        incident.announced_subjects,
                    )
                )
        return messages
