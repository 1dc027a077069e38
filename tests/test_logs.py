"""One logging channel: with JSON chosen every line on stderr is JSON — library records
(APScheduler, uvicorn) included — secrets are redacted, and a traceback is written at debug
level instead of being dropped."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from flowtui import logs
from flowtui.providers.redaction import register_secret


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    # a server started by an earlier test may have set uvicorn's levels (its `log_level`);
    # this process has none of its own
    servers = {name: logging.getLogger(name).level for name in logs.UVICORN}
    for name in servers:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, server_level in servers.items():
        logging.getLogger(name).setLevel(server_level)


def fail_with(message: str) -> None:
    try:
        raise ValueError(message)
    except ValueError:
        logging.getLogger("flowtui.providers").warning("pass failed", exc_info=True)


def test_json_makes_every_line_json_library_lines_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_secret("hush-hush-token")
    logs.configure("json", "warning")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed by 0:00:02")
    logging.getLogger("uvicorn.error").error("Address already in use")
    logging.getLogger("flowtui.providers").info("not shown at warning level")
    fail_with("bad hush-hush-token")
    lines = capsys.readouterr().err.splitlines()
    ours = ("apscheduler.scheduler", "uvicorn.error", "flowtui.providers")
    # (every line is JSON; other tests' leftovers, e.g. asyncio's, may log meanwhile)
    records = [r for r in map(json.loads, lines) if r["logger"] in ours]
    assert [(r["logger"], r["level"]) for r in records] == [
        ("apscheduler.scheduler", "warning"),
        ("uvicorn.error", "error"),
        ("flowtui.providers", "warning"),
    ]
    assert records[2]["error"] == "ValueError: bad ***"
    assert "traceback" not in records[2]
    assert "hush-hush-token" not in "".join(lines)


def test_tracebacks_reach_the_log_at_debug_level(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "debug")
    fail_with("boom")
    [record] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert "Traceback (most recent call last)" in record["traceback"]
    assert "fail_with" in record["traceback"]
    logs.configure("human", "debug")
    fail_with("boom")
    text = capsys.readouterr().err
    assert text.startswith("flowtui: warning: pass failed: ValueError: boom\nTraceback")
