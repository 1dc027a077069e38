"""Write a configuration back to schedules.toml (the app's rule editor uses this).

The file is regenerated from the models with tomli-w, so comments and the original layout
are lost; values equal to their defaults are left out. The new text must pass the same
checks as `flowtui check` (secrets aside) before anything is written; it then replaces the
file atomically (temporary file + os.replace), keeping the previous file as
`schedules.toml.bak`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import tomli_w

from flowtui.config import Config, ConfigError, parse_config
from flowtui.rules import conflicts


def _plain(value: Any) -> Any:
    """Model dump → what tomli-w writes: lists, strings for enums and paths."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item != {}}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    return value


def config_to_toml(config: Config) -> str:
    """The TOML text of `config` (without comments)."""
    data = config.model_dump(by_alias=True, exclude_defaults=True, exclude_none=True)
    accounts = data.get("accounts", {})
    data["accounts"] = {
        name: {"kind": fields["kind"], **fields} for name, fields in accounts.items()
    }
    return tomli_w.dumps(_plain(data))


def validated_text(config: Config, filename: str) -> str:
    """The TOML text of `config` if it parses back and has no static conflicts;
    ConfigError otherwise."""
    text = config_to_toml(config)
    problems = conflicts(parse_config(text, filename))
    if problems:
        raise ConfigError(problems)
    return text


def save_config(config: Config, path: Path) -> None:
    """Validate, then atomically replace `path`, keeping the old file as `<name>.bak`.
    Raises ConfigError (nothing written) or OSError."""
    text = validated_text(config, str(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
            shutil.copy2(path, path.with_name(f"{path.name}.bak"))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
