"""Rule edits written into the operator's schedules.toml (the app's rule editor uses this).

The file is the operator's (SPEC §2): tomlkit edits the document in place, so an edit
changes only the rule it touches and keeps every comment, the order of keys and tables and
the spelling of every value it does not change (`48h` stays `48h`, even when the form sent
`2d`: a key whose value means the same is left as written). The new text must pass the same
checks as `flowtui check` (secrets aside) before anything is written; it then replaces the
file atomically, and the text the file had before this save is kept as
`schedules.toml.bak`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ValidationError
from tomlkit.container import Container
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Comment, Item, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from flowtui.checks import checked
from flowtui.config import (
    AbSwitchRule,
    Config,
    ConfigError,
    ConfigProblem,
    MaintenanceRule,
    read_config_text,
)

Edit = Callable[[TOMLDocument], None]  # changes a document in place; KeyError: no such rule
RULE_MODELS: dict[str, type[MaintenanceRule | AbSwitchRule]] = {
    "maintenance": MaintenanceRule,
    "ab_switch": AbSwitchRule,
}


# -- edits ------------------------------------------------------------------------------


def put_rule(kind: str, fields: Mapping[str, Any], replaces: str | None) -> Edit:
    """Replace the rule named `replaces` (None: add one) by the rule `fields` describes,
    as TOML keys. Only keys whose meaning changes are written or removed; a new rule gets
    only the keys that differ from their defaults. The fields must validate as a rule."""
    model = RULE_MODELS[kind]
    new = model.model_validate(dict(fields))

    def edit(document: TOMLDocument) -> None:
        if replaces is None:
            _append_rule(document, kind, _new_table(model, new, fields))
            return
        table = _find_rule(document, replaces, kinds=(kind,))
        old = _valid(model, table.unwrap())
        for key in [key for key in table if key not in fields]:
            if _differs(model, key, new, old, table):
                del table[key]
        for key, value in fields.items():
            if _differs(model, key, new, old, table, value):
                _set_key(table, key, value)

    return edit


def set_paused(name: str, paused: bool) -> Edit:
    """Pause or resume the rule `name`: `paused = true`, or on resume the key removed (set
    to false instead when its line carries a comment)."""

    def edit(document: TOMLDocument) -> None:
        table = _find_rule(document, name, kinds=tuple(RULE_MODELS))
        if paused:
            _set_key(table, "paused", True)
        elif "paused" in table and _comment(table, "paused"):
            table["paused"] = False
        elif "paused" in table:
            del table["paused"]

    return edit


def _comment(table: Table, key: str) -> str:
    item = table.item(key)
    return item.trivia.comment if isinstance(item, Item) else ""


def edited_text(text: str, edit: Edit) -> str:
    """`text` with `edit` applied (everything it does not touch kept as it was)."""
    document = tomlkit.parse(text)
    edit(document)
    return document.as_string()


def save_edit(path: Path, edit: Edit) -> Config:
    """Apply `edit` to the file at `path`, check the result like `flowtui check` (secrets
    aside), then replace the file atomically, keeping the text it had before this save as
    `<name>.bak`. Returns the saved configuration. ConfigError (nothing written) when the
    file cannot be read or the result does not pass; KeyError when the rule to edit is
    gone; OSError when writing fails."""
    before = read_config_text(path)
    try:
        after = edited_text(before, edit)
    except ParseError as error:
        problem = ConfigProblem(str(path), error.line, error.col, f"TOML syntax: {error}")
        raise ConfigError([problem]) from None
    config = checked(after, str(path))
    mode = path.stat().st_mode & 0o7777
    _write_atomically(path.with_name(f"{path.name}.bak"), before, mode)
    _write_atomically(path, after, mode)
    return config


# -- the document -----------------------------------------------------------------------


def _tables(document: TOMLDocument, kind: str) -> Iterator[Table]:
    tables = document.get(kind)
    if isinstance(tables, AoT):
        yield from tables


def _find_rule(document: TOMLDocument, name: str, kinds: tuple[str, ...]) -> Table:
    for kind in kinds:
        for table in _tables(document, kind):
            if table.get("name") == name:
                return table
    raise KeyError(name)


def _valid(model: type[BaseModel], data: object) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


_MISSING = object()


def _differs(
    model: type[BaseModel],
    key: str,
    new: BaseModel,
    old: BaseModel | None,
    table: Table,
    value: Any = _MISSING,
) -> bool:
    """Whether writing `value` to `key` (or, without a value, removing it) changes what the
    rule means. A rule that is invalid in the file is compared key by key as written."""
    name = next((n for n, f in model.model_fields.items() if (f.alias or n) == key), None)
    if name is None:  # not a key of the model: the file's own (invalid) key
        return value is _MISSING or table.get(key) != value
    if old is None:
        return key not in table or value is _MISSING or table.item(key).unwrap() != value
    return bool(getattr(new, name) != getattr(old, name))


def _new_table(model: type[BaseModel], rule: BaseModel, fields: Mapping[str, Any]) -> Table:
    """A new rule's table: the keys whose value is not their default, in the form's order."""
    blank = {name: field.get_default() for name, field in model.model_fields.items()}
    table = tomlkit.table()
    for key, value in fields.items():
        name = next((n for n, f in model.model_fields.items() if (f.alias or n) == key), key)
        if getattr(rule, name, value) != blank.get(name, _MISSING):
            table[key] = value
    return table


def _set_key(table: Table, key: str, value: Any) -> None:
    """Set `key`: in place when it exists (its comment kept), else after the table's last
    key, so that comments closing the table (about what follows) stay last."""
    if key in table:
        table[key] = value
        return
    keys = [item_key for item_key, _ in table.value.body if item_key is not None]
    if keys:
        table.value._insert_after(keys[-1], key, value)
    else:
        table[key] = value


def _trailing(container: Container) -> list[Whitespace | Comment]:
    """Remove and return the comments and blank lines after the last key of `container`."""
    body = container.body
    index = len(body)
    while index > 0 and body[index - 1][0] is None:
        index -= 1
    items = [item for _, item in body[index:]]
    del body[index:]  # unkeyed: the container's key index is unaffected
    return items  # type: ignore[return-value]


def _append_rule(document: TOMLDocument, kind: str, table: Table) -> None:
    """Add `table` after the last rule of `kind` (the comments that closed that rule now
    close this one), or as the first of its kind at the end of the file."""
    tables = document.get(kind)
    if not isinstance(tables, AoT) or not tables:
        document.add(tomlkit.nl())
        document.append(kind, tomlkit.aot())
        tables = document[kind]
    else:
        last = tables[-1]
        for item in _trailing(last.value):
            table.add(item)
        last.add(tomlkit.nl())
    tables.append(table)


def _write_atomically(path: Path, text: str, mode: int) -> None:
    """Replace `path` by `text` (temporary file, fsync, rename): never half written."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
