"""Query strings and form bodies read the way PHP reads them: `a[b][]=1` nests."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse(text: str) -> dict[str, Any]:
    """`flowData[name]=x&responsibleList[0][]=user` → nested dicts and lists."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        found = _KEY.match(key)
        if not found:
            result[key] = value
            continue
        path = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        node = result
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(result)


def _listify(value: Any) -> Any:
    """Dicts keyed 0..n-1 become lists, as PHP arrays with sequential keys serialise."""
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(item) for key, item in value.items()}
    if converted and list(converted) == [str(i) for i in range(len(converted))]:
        return list(converted.values())
    return converted
