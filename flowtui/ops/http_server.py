"""`flowtui daemon --http ADDR`: `/metrics`, `/healthz` and `/readyz` served from a thread of
their own (wsgiref), so a scrape never waits for the event loop and the loop never waits
for a scrape. The handlers only read the metrics registry and the health snapshot."""

from __future__ import annotations

import json
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from flowtui.ops.health import HealthTracker

_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+)):(?P<port>\d{1,5})$")


def parse_address(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port); ValueError with a hint otherwise."""
    match = _ADDRESS.match(text.strip())
    port = int(match["port"]) if match else -1
    if not match or port > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)")
    return match["v6"] or match["host"], port


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # WSGIServer would look the host up in DNS (getfqdn): slow or hanging when offline
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]
        self.setup_environ()


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no line per scrape
        return


Respond = Callable[[str, list[tuple[str, str]]], Any]


class OpsServer:
    """Bound on construction (an OSError says why not); `start()` serves in a thread."""

    def __init__(
        self, address: tuple[str, int], registry: CollectorRegistry, health: HealthTracker
    ) -> None:
        self._metrics = make_wsgi_app(registry)
        self._health = health
        host, port = address
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(
            host, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        address, port = self._server.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="flowtui-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], respond: Respond) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics(environ, respond)
        if path == "/healthz":
            alive, age = self._health.loop_alive()
            text = "ok\n" if alive else f"event loop stalled for {age:.0f}s\n"
            return _reply(respond, 200 if alive else 503, text, "text/plain; charset=utf-8")
        if path == "/readyz":
            health = self._health.health
            body = json.dumps(health.as_json()) + "\n"
            return _reply(respond, 200 if health.ready else 503, body, "application/json")
        return _reply(respond, 404, "not found: try /metrics, /healthz or /readyz\n", "text/plain")


def _reply(respond: Respond, status: int, text: str, content_type: str) -> list[bytes]:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    data = text.encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    respond(f"{status} {reason}", headers)
    return [data]
