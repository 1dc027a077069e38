"""A program in a real pseudo-terminal, its output read into a terminal emulator (pyte), so
that what a person would see can be waited on and timed: `Terminal(argv).wait_for(...)`.

Shared by the app's pty benchmark (benchmarks/app_terminal.py) and its pty test
(tests/tui/test_terminal.py). Each read is stamped when it arrives, before pyte parses
it, so a time returned by `wait_for` is when the screen showed it, not when this process
got round to parsing it."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pexpect
import pyte

READ_SIZE = 1 << 16
ESCAPE_PAUSE_S = 0.3
KEYS = {
    "down": "\x1b[B",
    "up": "\x1b[A",
    "escape": "\x1b",
    "enter": "\r",
    "pagedown": "\x1b[6~",
    "pageup": "\x1b[5~",
}


class Terminal:
    """`argv` running in a `columns` × `lines` pty; `close()` ends it."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        columns: int = 160,
        lines: int = 45,
    ) -> None:
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self.started = time.perf_counter()
        self.child = pexpect.spawn(
            argv[0],
            list(argv[1:]),
            env=dict(env) | {"TERM": "xterm-256color"},
            cwd=str(cwd) if cwd else None,
            dimensions=(lines, columns),
        )
        # pexpect sleeps 50 ms before each send by default (for programs that drop input
        # sent before they are ready): that sleep would be timed as key latency.
        self.child.delaybeforesend = None
        self.output = bytearray()  # everything the program wrote (for a failure message)
        self.closed = False

    # -- reading ------------------------------------------------------------------------

    def _read(self, timeout: float) -> float | None:
        """Read what arrives within `timeout` s (all of it, if more follows at once) into
        the screen; the arrival time of the last read, or None when nothing came."""
        if self.closed:  # nothing more can arrive: callers stop on `closed`
            return None
        ready, _, _ = select.select([self.child.child_fd], [], [], max(timeout, 0))
        if not ready:
            return None
        arrived = None
        while ready:
            try:
                data = os.read(self.child.child_fd, READ_SIZE)
            except OSError:  # the program ended (EIO on Linux)
                data = b""
            if not data:
                self.closed = True
                break
            arrived = time.perf_counter()
            self.output += data
            self._stream.feed(data)
            ready, _, _ = select.select([self.child.child_fd], [], [], 0)
        return arrived

    def wait_for(
        self, shown: Callable[[Terminal], bool], timeout: float, what: str = "the screen"
    ) -> float:
        """Wait until `shown(self)` holds; the time (perf_counter) the output that made it
        hold arrived. AssertionError, with the screen, after `timeout` seconds."""
        if shown(self):
            return time.perf_counter()
        deadline = time.perf_counter() + timeout
        while (left := deadline - time.perf_counter()) > 0:
            arrived = self._read(min(left, 0.5))
            if (arrived is not None or self.closed) and shown(self):
                return arrived or time.perf_counter()
            if self.closed:
                break
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.text()}")

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Read until the program has written nothing for `quiet` seconds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and self._read(quiet) is not None:
            pass

    # -- what is on screen ----------------------------------------------------------------

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def contains(self, text: str) -> bool:
        return any(text in line for line in self.screen.display)

    def line_of(self, text: str) -> int | None:
        return next((i for i, line in enumerate(self.screen.display) if text in line), None)

    def background(self, line: int, column: int = 2) -> str:
        return self.screen.buffer[line][column].bg

    # -- writing ------------------------------------------------------------------------

    def send(self, *keys: str) -> float:
        """Type `keys` (names from KEYS, else literal text); the time it was sent. A lone
        escape is followed by a pause, as a person's is: escape then a key at once reads as
        alt+key."""
        sent = time.perf_counter()
        for position, key in enumerate(keys):
            self.child.send(KEYS.get(key, key))
            if key == "escape" and position < len(keys) - 1:
                time.sleep(ESCAPE_PAUSE_S)
        return sent

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)
