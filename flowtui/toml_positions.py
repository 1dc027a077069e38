"""Where each key, table header and array item of a TOML document starts (line, column).

tomllib gives values but no positions; error messages need them. `index_positions` scans a
document that tomllib has already accepted and maps every value path — e.g.
`("maintenance", 1, "flows", 0)` — to its 1-based (line, column). Pure.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Sequence

import tomli as tomllib  # (flowtui.config reads with tomli: no second parser to import)

Position = tuple[int, int]

MAX_DEPTH = 100  # arrays and inline tables nested deeper than this are refused
MAX_KEY_PARTS = 32  # and dotted keys longer than this (flowtui's own keys have at most 3)
# A key of more than MAX_KEY_PARTS parts has that many dots on one line; most files have no
# such line, and only those that do are scanned for one before tomllib reads them.
_MANY_DOTS = re.compile(r"\.(?:[^\n.]*\.){" + str(MAX_KEY_PARTS - 1) + "}")
_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Node:
    """One path of the document: where it starts and its children. A trie, so that a key
    20,000 parts deep costs 20,000 nodes, not 20,000 tuples of up to 20,000 parts."""

    __slots__ = ("children", "position", "tables")

    def __init__(self) -> None:
        self.children: dict[str | int, _Node] = {}
        self.position: Position | None = None
        self.tables = 0  # items so far when this path is an array of tables

    def child(self, key: str | int) -> _Node:
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = _Node()
        return node


class PositionIndex:
    """Positions of the paths of one document; `locate` falls back to the nearest parent."""

    def __init__(self, root: _Node) -> None:
        self._root = root

    def locate(self, path: Sequence[str | int]) -> Position:
        found, node = (1, 1), self._root
        for part in path:
            next_node = node.children.get(part)
            if next_node is None:
                break
            node = next_node
            found = node.position or found
        return found


class _Unexpected(Exception):
    """The scanner met text it does not understand (a bug here, not in the document)."""


class _TooDeep(Exception):
    """Nesting past MAX_DEPTH or MAX_KEY_PARTS, at `offset`."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset


def _require(condition: bool) -> None:
    if not condition:
        raise _Unexpected


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_starts = [0] + [match.end() for match in re.finditer("\n", text)]
        self.root = _Node()

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset)
        return (line, offset - self.line_starts[line - 1] + 1)

    def walk(self, node: _Node, keys: Sequence[str | int], offset: int) -> _Node:
        """The node `keys` below `node`; each one on the way not seen yet starts at `offset`.
        An array of tables on the way stands for its last item, as in a table header."""
        position = self.position(offset)
        for key in keys:
            node = node.child(key)
            if node.position is None:
                node.position = position
        return node

    def item(self, node: _Node) -> _Node:
        """The last item of the array of tables `node`, when it is one."""
        return node.child(node.tables - 1) if node.tables else node

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
        parts: list[str] = []
        while True:
            if len(parts) == MAX_KEY_PARTS:
                raise _TooDeep(self.pos, f"a dotted key of more than {MAX_KEY_PARTS} parts")
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

    def value(self, node: _Node, depth: int) -> None:
        self.skip_blank(newlines=False)
        if depth == MAX_DEPTH:
            raise _TooDeep(self.pos, f"arrays or inline tables nested more than {MAX_DEPTH} deep")
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
                self.value(self.walk(node, (index,), self.pos), depth + 1)
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
                self.key_value(node, depth + 1)
                self.skip_blank(newlines=False)
                if self.peek() == ",":
                    self.pos += 1
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            _require(self.pos > start)

    def key_value(self, table: _Node, depth: int = 0) -> None:
        start = self.pos
        keys = self.key()
        _require(self.peek() == "=")
        node = self.walk(table, keys, start)
        self.pos += 1
        self.value(node, depth)


def index_positions(text: str) -> PositionIndex:
    """Index a document tomllib accepts. Never raises: should the scanner stumble, the
    positions found so far are kept and the rest fall back to their parents (or 1:1)."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Unexpected, _TooDeep, IndexError):
        _scan(scanner)
    return PositionIndex(scanner.root)


def too_deep(text: str, *, suspected: bool = False) -> tuple[Position, str] | None:
    """Where and how `text` nests past MAX_DEPTH or MAX_KEY_PARTS, or None. Scans only a
    document with a line of many dots, or one `suspected` (tomllib ran out of stack)."""
    if not suspected and _MANY_DOTS.search(text) is None:
        return None
    scanner = _Scanner(text)
    try:
        _scan(scanner)
    except _TooDeep as deep:
        return scanner.position(deep.offset), str(deep)
    except (_Unexpected, IndexError):
        pass
    return None


def _scan(scanner: _Scanner) -> None:
    text = scanner.text
    root = table = scanner.root
    while True:
        scanner.skip_blank(newlines=True)
        if scanner.pos >= len(text):
            return
        start = scanner.pos
        if scanner.peek(2) == "[[":
            scanner.pos += 2
            *parents, last = scanner.key()
            parent = root
            for key in parents:
                parent = scanner.item(scanner.walk(parent, (key,), start))
            array = scanner.walk(parent, (last,), start)
            array.tables += 1
            table = scanner.walk(array, (array.tables - 1,), start)
            scanner.pos += 2
        elif scanner.peek() == "[":
            scanner.pos += 1
            table = root
            for key in scanner.key():
                table = scanner.item(scanner.walk(table, (key,), start))
            scanner.pos += 1
        else:
            scanner.key_value(table)
