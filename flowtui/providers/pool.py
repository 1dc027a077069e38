"""An HTTP/1.1 connection pool whose bookkeeping costs O(connections) per request.

httpcore's `AsyncConnectionPool` re-plans every connection at each request start and end:
it checks each idle connection's socket (system calls) and, for each idle one, counts every
connection again. With the 20–50 connections of a refresh that fans out (GASSAPI's
projects, Diga's pages, Bitrix24's batches) that was 1–3 ms of CPU per request, more than
the rest of the client together, and it delayed the very requests it was fanning out.

`LeanPool` keeps httpcore's connections and request queue and replaces only that planning
step: a connection's socket is checked when the connection is about to be reused, connections
already promised to a request are never promised twice, and surplus idle connections are
closed as before. HTTP/2 is not used by flowtui, so it is not planned for here.
"""

from __future__ import annotations

from typing import Any

import httpcore
import httpx


class LeanPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with linear-time request assignment (see the module docstring)."""

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        self._connections = [c for c in self._connections if not c.is_closed()]
        promised = {id(r.connection) for r in self._requests if r.connection is not None}
        idle = [c for c in self._connections if id(c) not in promised and c.is_idle()]
        for request in [r for r in self._requests if r.is_queued()]:
            origin = request.request.url.origin
            connection = self._reusable(idle, origin, closing)
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    if not idle:
                        continue  # stays queued until a connection frees up
                    self._retire(idle.pop(0), closing)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            request.assign_to_connection(connection)
        while len(idle) > self._max_keepalive_connections:
            self._retire(idle.pop(0), closing)
        return closing

    def _reusable(self, idle: list[Any], origin: httpcore.Origin, closing: list[Any]) -> Any:
        """The most recently idle connection to `origin` still fit for a request, if any;
        connections found expired on the way are retired."""
        for index in range(len(idle) - 1, -1, -1):
            connection = idle[index]
            if not connection.can_handle_request(origin):
                continue
            del idle[index]
            if connection.has_expired():
                self._retire(connection, closing)
                continue
            if connection.is_available():
                return connection
        return None

    def _retire(self, connection: Any, closing: list[Any]) -> None:
        self._connections.remove(connection)
        closing.append(connection)


class LeanTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (its request, response and error mapping) over a `LeanPool`."""

    def __init__(self, *, verify: Any, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        self._pool = LeanPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )
