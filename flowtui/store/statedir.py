"""The state directory's rules (SPEC §3): created 0700, every file in it 0600 whatever the
umask, and an unusable directory (read-only, missing parent, not ours) is one clear error."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from flowtui.store.records import StoreError

DIR_MODE = 0o700
FILE_MODE = 0o600


class StateDirError(StoreError):
    """The state directory cannot be used (the CLI exits 2 with this one line)."""


def _why(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or str(exc)


def prepare_state_dir(path: Path) -> Path:
    """Create `path` (0700) if missing and check this process may use it: it must be a
    directory owned by this user and writable. Tightens a looser mode it finds."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        raise StateDirError(f"cannot create the state directory {path}: {_why(exc)}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"the state directory {path} is not a directory")
    check_owner(path, info)
    if stat.S_IMODE(info.st_mode) & 0o077:
        try:
            os.chmod(path, DIR_MODE)
        except OSError as exc:
            message = f"cannot make the state directory {path} private: {_why(exc)}"
            raise StateDirError(message) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(f"the state directory {path} is not writable (read-only?)")
    return path


def check_owner(path: Path, info: os.stat_result | None = None) -> None:
    """A state directory or file owned by another user is not ours to use."""
    try:
        info = info or path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StateDirError(f"cannot read {path}: {_why(exc)}") from None
    if info.st_uid != os.geteuid():
        raise StateDirError(
            f"{path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()}):"
            " run flowtui as its owner or choose another --state-dir"
        )


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if missing; make an existing one ours and 0600."""
    check_owner(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StateDirError(f"cannot write {path}: {_why(exc)}") from None
    return path


def write_private(path: Path, text: str) -> None:
    """Replace `path`'s content with `text`, mode 0600."""
    private_file(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    except OSError as exc:
        raise StateDirError(f"cannot write {path}: {_why(exc)}") from None


def tighten(path: Path) -> None:
    """0600 for a file another library created (SQLite's -wal and -shm), if it exists."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StateDirError(f"cannot make {path} private: {_why(exc)}") from None
