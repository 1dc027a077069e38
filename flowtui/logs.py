"""One logging channel for every command: stdlib logging, one handler on the root logger
writing to stderr, human lines or JSON lines (`--log-format json` makes every line JSON —
APScheduler's, uvicorn's and httpx's records included, as they propagate to the root).
Every record is redacted before it is written. A record carrying an exception is one line
naming it; its traceback is written too when the log level is debug, never dropped silently.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


def redact(text: str) -> str:
    """flowtui.providers.redaction's, imported when a record is written: a command that logs
    nothing does not load the providers package (and its httpx set-up) for its log."""
    from flowtui.providers.redaction import redact as redact_secrets

    return redact_secrets(text)


LIBRARIES = ("apscheduler", "httpx", "httpcore", "uvicorn")  # warnings only, unless debug
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _exception_line(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[1] is None:
        return None
    error = record.exc_info[1]
    return redact(f"{type(error).__name__}: {error}")


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The traceback, when the log level is debug (else only the one-line exception)."""
    if not record.exc_info or not logging.getLogger().isEnabledFor(logging.DEBUG):
        return None
    return redact(formatter.formatException(record.exc_info))


class HumanFormatter(logging.Formatter):
    """`flowtui: warning: message: ValueError: why` (and the traceback at debug level)."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"flowtui: {record.levelname.lower()}: {redact(record.getMessage())}"
        error = _exception_line(record)
        if error is not None:
            text = f"{text}: {error}"
        trace = _traceback(self, record)
        return text if trace is None else f"{text}\n{trace}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC ISO 8601), level, logger, message, and for a
    record carrying an exception `error` (one line) and, at debug level, `traceback`."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        error = _exception_line(record)
        if error is not None:
            body["error"] = error
        trace = _traceback(self, record)
        if trace is not None:
            body["traceback"] = trace
        return json.dumps(body)


class LibraryFilter(logging.Filter):
    """Lets a library's record through only from warning up (any, at debug level)."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if self.debug or record.levelno >= logging.WARNING:
            return True
        return not any(record.name == n or record.name.startswith(f"{n}.") for n in LIBRARIES)


class StderrHandler(logging.Handler):
    """Writes to the current `sys.stderr` (found at each write, so it follows a test
    runner's capture), redacting every record."""

    def __init__(self, formatter: logging.Formatter, debug: bool = False) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.addFilter(LibraryFilter(debug))

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = redact(record.getMessage()), None
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nowhere left to say it
            self.handleError(record)


def configure(fmt: str = "human", level: str = "warning") -> None:
    """Route every logger through one stderr handler in `fmt` ("human" or "json") at
    `level` ("debug", "info", "warning"); idempotent, the last call wins. Libraries are
    heard from warning up unless the level is debug. (A uvicorn server joins the channel when
    started with `log_config=None`, so that it installs no handlers of its own.)"""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    for name in UVICORN:  # a server configured with uvicorn's defaults writes elsewhere
        server_log = logging.getLogger(name)
        server_log.handlers.clear()
        server_log.propagate = True
        server_log.disabled = False
    formatter = JsonFormatter() if fmt == "json" else HumanFormatter()
    root.addHandler(StderrHandler(formatter, debug=level == "debug"))
    root.setLevel(LEVELS[level])
