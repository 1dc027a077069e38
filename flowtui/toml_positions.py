"""Where each key, table header and array item of a TOML document starts (line, column).

tomllib gives values but no positions; error messages need them. `index_positions` scans a
document that tomllib has already accepted and maps every value path — e.g.
`("maintenance", 1, "flows", 0)` — to its 1-based (line, column). Pure.
"""

from __future__ import annotations

import bisect
import contextlib
import tomllib
from collections.abc import Sequence

Path = tuple[str | int, ...]
Position = tuple[int, int]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class PositionIndex:
    """Positions of the paths of one document; `locate` falls back to the nearest parent."""

    def __init__(self, positions: dict[Path, Position]) -> None:
        self._positions = positions

    def locate(self, path: Sequence[str | int]) -> Position:
        path = tuple(path)
        while path:
            if path in self._positions:
                return self._positions[path]
            path = path[:-1]
        return (1, 1)


class _Unexpected(Exception):
    """The scanner met text it does not understand (a bug here, not in the document)."""


def _require(condition: bool) -> None:
    if not condition:
        raise _Unexpected


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        self.positions: dict[Path, Position] = {}

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset)
        return (line, offset - self.line_starts[line - 1] + 1)

    def record(self, path: Path, offset: int) -> None:
        """Record `path` (and any parent not seen yet) as starting at `offset`."""
        position = self.position(offset)
        for length in range(1, len(path) + 1):
            self.positions.setdefault(path[:length], position)

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (if `newlines`) line breaks."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def skip_string(self) -> str:
        """Skip a string literal at `pos`; return its source text."""
        start = self.pos
        quote = self.text[self.pos]
        delimiter = quote * 3 if self.peek(3) == quote * 3 else quote
        self.pos += len(delimiter)
        while self.text[self.pos : self.pos + len(delimiter)] != delimiter:
            self.pos += 2 if quote == '"' and self.text[self.pos] == "\\" else 1
        self.pos += len(delimiter)
        while len(delimiter) == 3 and self.peek() == quote:  # `""""` ends with a quote
            self.pos += 1
        return self.text[start : self.pos]

    def key(self) -> list[str]:
        """A dotted key at `pos` as its parts."""
        parts = []
        while True:
            self.skip_blank(newlines=False)
            if self.peek() in ("'", '"'):
                raw = self.skip_string()
                parts.append(tomllib.loads(f"k = {raw}")["k"])
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE_KEY:
                    self.pos += 1
                parts.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def value(self, path: Path) -> None:
        self.skip_blank(newlines=False)
        char = self.peek()
        if char in ("'", '"'):
            self.skip_string()
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                _require(self.pos < len(self.text))
                if self.peek() == "]":
                    self.pos += 1
                    return
                self.record((*path, index), self.pos)
                self.value((*path, index))
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                index += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=False)
                _require(self.pos < len(self.text))
                if self.peek() == "}":
                    self.pos += 1
                    return
                self.key_value(path)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.pos += 1
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            _require(self.pos > start)

    def key_value(self, table: Path) -> None:
        start = self.pos
        path = (*table, *self.key())
        _require(self.peek() == "=")
        self.record(path, start)
        self.pos += 1
        self.value(path)


def index_positions(text: str) -> PositionIndex:
    """Index a document tomllib accepts. Never raises: should the scanner stumble, the
    positions found so far are kept and the rest fall back to their parents (or 1:1)."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Unexpected, IndexError):
        _scan(scanner)
    return PositionIndex(scanner.positions)


def _scan(scanner: _Scanner) -> None:
    text = scanner.text
    table_arrays: dict[Path, int] = {}  # concrete path of an array of tables → item count

    def concrete(parts: Sequence[str]) -> Path:
        path: Path = ()
        for part in parts:
            path = (*path, part)
            if path in table_arrays:
                path = (*path, table_arrays[path] - 1)
        return path

    table: Path = ()
    while True:
        scanner.skip_blank(newlines=True)
        if scanner.pos >= len(text):
            return
        start = scanner.pos
        if scanner.peek(2) == "[[":
            scanner.pos += 2
            parts = scanner.key()
            base = (*concrete(parts[:-1]), parts[-1])
            table_arrays[base] = table_arrays.get(base, 0) + 1
            table = (*base, table_arrays[base] - 1)
            scanner.record(base, start)
            scanner.record(table, start)
            scanner.pos += 2
        elif scanner.peek() == "[":
            scanner.pos += 1
            table = concrete(scanner.key())
            scanner.record(table, start)
            scanner.pos += 1
        else:
            scanner.key_value(table)
