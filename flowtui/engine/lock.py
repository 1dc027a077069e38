"""One active scheduler per state directory: a file lock plus a note of the holder's pid."""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from flowtui.store.statedir import (
    FILE_MODE,
    StateDirError,
    check_owner,
    prepare_state_dir,
    write_private,
)

LOCK_NAME = "scheduler.lock"
PID_NAME = "scheduler.pid"


class LockHeld(Exception):
    """Another process runs the scheduler for this state directory."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"the scheduler for {state_dir} is already run by {holder}")
        self.pid = pid


class SchedulerLock:
    """Non-blocking, released by the OS when the holder dies (even on kill -9)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._pid_file = state_dir / PID_NAME
        self._lock = FileLock(state_dir / LOCK_NAME, timeout=0, mode=FILE_MODE)

    def acquire(self) -> None:
        """Take the lock; LockHeld if another process has it, StateDirError (a StoreError)
        if the directory or the lock file cannot be used by this user."""
        prepare_state_dir(self.state_dir)
        check_owner(self.state_dir / LOCK_NAME)
        check_owner(self._pid_file)
        try:
            self._lock.acquire()
        except Timeout:
            raise LockHeld(self.state_dir, self.holder_pid()) from None
        except OSError as exc:
            raise StateDirError(f"cannot take the lock in {self.state_dir}: {exc}") from None
        write_private(self._pid_file, f"{os.getpid()}\n")

    def release(self) -> None:
        if self._lock.is_locked:
            self._pid_file.unlink(missing_ok=True)
            self._lock.release()

    def free(self) -> bool:
        """Whether nobody holds the lock now (a probe: taken and released at once)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            return False
        self._lock.release()
        return True

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def holder_pid(self) -> int | None:
        """The pid noted by the current holder, if any (may be stale if nobody holds it)."""
        try:
            return int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
