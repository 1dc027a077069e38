"""The TOML position index: keys, table headers and array items map to line:column."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtui.toml_positions import index_positions

DOCUMENT = '''# comment
[settings]
timezone = "UTC"  # trailing comment

[accounts.support]
kind = "diga"
"quoted key" = 'x'
notes = """line one
"still" inside"""

[[maintenance]]
name = "first"
flows = [
  "a:1",  # comment in an array
  "a:2",
]

[[maintenance]]
name = "second"
inline = { cron = "0 2 * * *", nested = { deep = 1 } }
dotted.key = 3
'''


def test_positions_of_keys_headers_and_items() -> None:
    index = index_positions(DOCUMENT)
    assert index.locate(("settings",)) == (2, 1)
    assert index.locate(("settings", "timezone")) == (3, 1)
    assert index.locate(("accounts", "support")) == (5, 1)
    assert index.locate(("accounts", "support", "quoted key")) == (7, 1)
    assert index.locate(("maintenance", 0)) == (11, 1)
    assert index.locate(("maintenance", 0, "flows", 1)) == (15, 3)
    assert index.locate(("maintenance", 1, "name")) == (19, 1)
    assert index.locate(("maintenance", 1, "inline", "cron")) == (20, 12)
    assert index.locate(("maintenance", 1, "inline", "nested", "deep")) == (20, 43)
    assert index.locate(("maintenance", 1, "dotted", "key")) == (21, 1)


def test_unknown_paths_fall_back_to_the_nearest_parent() -> None:
    index = index_positions(DOCUMENT)
    assert index.locate(("maintenance", 1, "no-such-key")) == (18, 1)
    assert index.locate(("nothing",)) == (1, 1)


KEYS = st.text(alphabet="abcXYZ_- .é\"'", min_size=1, max_size=6)
LEAVES = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.dates())
TREES: Any = st.recursive(
    st.dictionaries(KEYS, LEAVES, min_size=1, max_size=3),
    lambda children: st.dictionaries(
        KEYS, children | st.lists(children, min_size=1, max_size=2), min_size=1, max_size=3
    ),
    max_leaves=10,
)


def _leaf_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _leaf_paths(child, (*path, key))]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [p for i, child in enumerate(value) for p in _leaf_paths(child, (*path, i))]
    return [path]


@settings(max_examples=50, deadline=None)
@given(TREES)
def test_every_leaf_key_of_a_generated_document_is_found(tree: dict) -> None:
    text = tomli_w.dumps(tree)
    assert tomllib.loads(text) == tree
    lines = text.split("\n")
    index = index_positions(text)
    for path in _leaf_paths(tree):
        line, column = index.locate(path)
        source = lines[line - 1][column - 1 :]
        assert _key_at(source) == path[-1], (path, source)


def _key_at(source: str) -> str:
    """The (bare or quoted) key `source` starts with."""
    quoted = re.match(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', source)
    if quoted:
        return tomllib.loads(f"k = {quoted[0]}")["k"]
    return re.match(r"[A-Za-z0-9_-]+", source)[0]  # type: ignore[index]
