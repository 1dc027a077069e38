"""Issue 13's store items (SPEC §3 "Store"): private modes whatever the umask, an unusable
state directory is one line and exit 2, an emptied store is an error (never a fresh start),
audit retention, `audit`/`plan` on a read-only backup, and a corrupted audit row."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flowtui.cli import main
from flowtui.config import load_config
from flowtui.engine.lock import LOCK_NAME, PID_NAME, SchedulerLock
from flowtui.model import FlowRef
from flowtui.store import (
    DB_NAME,
    AuditRecord,
    SqliteStore,
    StoreError,
    open_store,
    store_target,
)

FLOW = FlowRef("support", "wf_1")
CONFIG = """
[settings]
timezone = "UTC"
audit_retention = "1d"

[accounts.support]
kind = "diga"
base_url = "http://127.0.0.1:9/diga"
token_env = "FLOWTUI_TEST_UNUSED_TOKEN"
"""
NOW = datetime.now(UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "schedules.toml"
    path.write_text(CONFIG)
    return path


def cli(config: Path, state_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--config", str(config), "--state-dir", str(state_dir), *args], env={}
    )


def unprivileged(config: Path, state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that file modes bind even as root (no DAC override), so that a
    read-only directory is read-only to it, as to any operator."""
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    command = [sys.executable, "-m", "flowtui", "--config", str(config), "--state-dir"]
    return subprocess.run(
        [*drop, *command, str(state_dir), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(state_dir.parent)},
        timeout=60,
    )


def one_line_exit_2(exit_code: int, stderr: str) -> str:
    assert exit_code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def override(config: Path, state_dir: Path) -> Result:
    return cli(config, state_dir, "override", "support:wf_1", "--state", "skip", "--until", "2h")


# -- item 6: private modes ---------------------------------------------------------------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_state_directory_is_0700_and_every_file_0600_under_umask_022(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    lock = SchedulerLock(state_dir)
    lock.acquire()
    store = SqliteStore.in_dir(state_dir)
    try:
        store.clear_override(FLOW)  # a write: WAL and shared memory files now exist
        names = sorted(p.name for p in state_dir.iterdir())
        assert {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", LOCK_NAME, PID_NAME} <= set(names)
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        modes = {name: stat.S_IMODE((state_dir / name).stat().st_mode) for name in names}
        assert modes == dict.fromkeys(names, 0o600)
    finally:
        store.close()
        lock.release()


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_loose_state_directory_is_made_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o755)
    SqliteStore.in_dir(state_dir).close()
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


# -- item 4: an unusable state directory -------------------------------------------------


def test_a_missing_parent_that_cannot_be_created_is_one_line_and_exit_2(
    tmp_path: Path, config: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for args in (
        ("override", "support:wf_1", "--state", "skip", "--until", "2h"),
        ("daemon", "--once"),
    ):
        result = cli(config, blocker / "state", *args)
        line = one_line_exit_2(result.exit_code, result.stderr)
        assert "state directory" in line, args


def test_a_read_only_state_directory_is_one_line_and_exit_2(tmp_path: Path, config: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o500)
    for args in (
        ("override", "support:wf_1", "--state", "skip", "--until", "2h"),
        ("daemon", "--once"),
    ):
        done = unprivileged(config, state_dir, *args)
        line = one_line_exit_2(done.returncode, done.stderr)
        assert "not writable" in line, args


def test_a_lock_file_of_another_user_is_one_line_and_exit_2(tmp_path: Path, config: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    (state_dir / LOCK_NAME).write_text("")
    os.chown(state_dir / LOCK_NAME, 65534, 65534)  # the tests run as root (CI does)
    result = cli(config, state_dir, "daemon", "--once")
    line = one_line_exit_2(result.exit_code, result.stderr)
    assert "belongs to uid 65534" in line


# -- item 5: an emptied store ------------------------------------------------------------


def test_an_emptied_store_is_an_error_never_a_fresh_start(tmp_path: Path, config: Path) -> None:
    state_dir = tmp_path / "state"
    assert override(config, state_dir).exit_code == 0
    os.truncate(state_dir / DB_NAME, 0)
    for args in (("audit",), ("daemon", "--once"), ("plan",)):
        result = cli(config, state_dir, *args)
        line = one_line_exit_2(result.exit_code, result.stderr)
        assert "is empty but a store was created here" in line, args
    assert (state_dir / DB_NAME).stat().st_size == 0  # nothing started afresh


def test_a_removed_store_is_an_error_too(tmp_path: Path, config: Path) -> None:
    state_dir = tmp_path / "state"
    assert override(config, state_dir).exit_code == 0
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        (state_dir / name).unlink(missing_ok=True)
    result = cli(config, state_dir, "audit")
    assert "is missing but a store was created here" in one_line_exit_2(
        result.exit_code, result.stderr
    )


def test_a_store_that_is_not_a_database_is_an_error(tmp_path: Path, config: Path) -> None:
    state_dir = tmp_path / "state"
    assert override(config, state_dir).exit_code == 0
    (state_dir / DB_NAME).write_bytes(b"garbage " * 4096)
    result = cli(config, state_dir, "daemon", "--once")
    one_line_exit_2(result.exit_code, result.stderr)


# -- item 10: audit retention ------------------------------------------------------------


def test_audit_retention_prunes_old_rows_but_keeps_open_intents(
    tmp_path: Path, config: Path
) -> None:
    settings = load_config(config).settings
    assert settings.audit_retention == timedelta(days=1)
    store = open_store(store_target(settings, tmp_path / "state"))
    try:
        old = NOW - timedelta(days=3)
        closed = store.record_intent(
            FLOW, old_status="enabled", new_status="disabled", changed_by="t", reason="r", at=old
        )
        store.record_outcome(closed, new_status="disabled", result="changed", at=old)
        still_open = store.record_intent(
            FLOW, old_status="enabled", new_status="disabled", changed_by="t", reason="r", at=old
        )
        assert store.prune_audit(NOW - timedelta(days=1), batch=1) == 1  # bounded
        store.prune_audit(NOW - timedelta(days=1))
        assert [r.id for r in store.audit()] == [still_open]
    finally:
        store.close()


def test_the_store_prunes_by_itself_now_and_then(tmp_path: Path, config: Path) -> None:
    settings = load_config(config).settings
    state_dir = tmp_path / "state"
    store = open_store(store_target(settings, state_dir))
    try:
        for day in range(5, 1, -1):
            store.record_intent(
                FLOW,
                old_status=None,
                new_status="x",
                changed_by="t",
                reason="r",
                at=NOW - timedelta(days=day),
            )
            store.record_outcome(
                store.open_intents()[0].id or 0,
                new_status="x",
                result="changed",
                at=NOW - timedelta(days=day),
            )
    finally:
        store.close()
    store = open_store(store_target(settings, state_dir))
    try:  # the first write of a process prunes what the retention no longer covers
        store.record_intent(
            FLOW, old_status=None, new_status="x", changed_by="t", reason="r", at=NOW
        )
        assert [r.timestamp >= NOW - timedelta(days=1) for r in store.audit()] == [True]
    finally:
        store.close()


def test_a_quiet_store_still_prunes_rows_past_the_retention(tmp_path: Path) -> None:
    """A burst of writes then few (quiet resyncs): a write a tenth of the retention after
    the last prune prunes, without waiting for PRUNE_EVERY writes."""
    store = SqliteStore.in_dir(tmp_path, retention=timedelta(minutes=10))
    try:
        burst = NOW - timedelta(minutes=30)
        for second in range(3):  # the first write prunes (nothing yet)
            store.record_event(_event(burst + timedelta(seconds=second)))
        store.record_event(_event(NOW))  # the 4th write, 30 minutes on: prunes the burst
        assert [r.timestamp for r in store.audit()] == [NOW]
    finally:
        store.close()


def _event(at: datetime) -> AuditRecord:
    return AuditRecord("drift", FLOW, old_status="x", new_status="y", changed_by="t", timestamp=at)


# -- item 9: a read-only copy ------------------------------------------------------------


def test_audit_and_plan_read_a_read_only_backup_and_write_nothing(
    tmp_path: Path, config: Path
) -> None:
    state_dir = tmp_path / "state"
    assert override(config, state_dir).exit_code == 0
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy(state_dir / DB_NAME, backup / DB_NAME)
    (backup / DB_NAME).chmod(0o400)
    backup.chmod(0o500)
    try:
        done = unprivileged(config, backup, "audit")
        assert done.returncode == 0, done.stderr
        assert "support:wf_1" in done.stdout
        done = unprivileged(config, backup, "plan")
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in backup.iterdir()) == [DB_NAME]
    finally:
        backup.chmod(0o700)


# -- item 2: a corrupted audit row -------------------------------------------------------


def test_a_corrupted_audit_row_prints_the_other_rows_and_one_clear_line(
    tmp_path: Path, config: Path
) -> None:
    state_dir = tmp_path / "state"
    store = SqliteStore.in_dir(state_dir)
    for flow_id in ("wf_1", "wf_2", "wf_3"):
        store.record_intent(
            FlowRef("support", flow_id),
            old_status="enabled",
            new_status="disabled",
            changed_by="cli:ops",
            reason="manual",
            at=NOW,
        )
    store.close()
    with sqlite3.connect(state_dir / DB_NAME) as raw:
        raw.execute("UPDATE audit SET flow_id = CAST(X'77665FFF' AS TEXT) WHERE flow_id='wf_2'")
    result = cli(config, state_dir, "audit")
    assert result.exit_code == 0, result.output
    assert "support:wf_1" in result.stdout
    assert "support:wf_3" in result.stdout
    assert "support:wf_\ufffd" in result.stdout
    (warning,) = result.stderr.strip().splitlines()
    assert "1 damaged audit row(s) (id 2)" in warning
    json_result = cli(config, state_dir, "audit", "--json")
    assert json_result.exit_code == 0
    assert len(json_result.stdout.splitlines()) == 3


def test_reading_a_store_that_does_not_exist_is_not_a_creation(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no state store"):
        SqliteStore.in_dir(tmp_path / "nothing", read_only=True)
    assert not (tmp_path / "nothing").exists()
