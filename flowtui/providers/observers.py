"""A hook for watching the HTTP traffic of every account, without the transport knowing who
watches: the daemon's metrics register here (flowtui.ops.metrics). Observers run on the
event loop inside the request path, so they must only count (no I/O, no waiting)."""

from __future__ import annotations

from typing import Protocol


class TransportObserver(Protocol):
    def requested(self, account: str, status: str) -> None:
        """One HTTP exchange ended: `status` is the HTTP status, "timeout" or "error"."""

    def retried(self, account: str, status: str) -> None:
        """A request is sent again after an answer (or failure) of `status`."""

    def rate_limited(self, account: str, seconds: float) -> None:
        """A request of `account` waited `seconds` for a rate limit (the platform's or ours)."""

    def token_expires(self, account: str, at: float | None) -> None:
        """The access token `account` now uses expires at `at` (epoch seconds; None: unknown)."""


_observers: list[TransportObserver] = []


def add_observer(observer: TransportObserver) -> None:
    _observers.append(observer)


def remove_observer(observer: TransportObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


def requested(account: str, status: str) -> None:
    for observer in _observers:
        observer.requested(account, status)


def retried(account: str, status: str) -> None:
    for observer in _observers:
        observer.retried(account, status)


def rate_limited(account: str, seconds: float) -> None:
    for observer in _observers:
        observer.rate_limited(account, seconds)


def token_expires(account: str, at: float | None) -> None:
    for observer in _observers:
        observer.token_expires(account, at)
