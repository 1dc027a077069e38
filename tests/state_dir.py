"""Reading another process's state store from a test: open, read, close, every time."""

from __future__ import annotations

from pathlib import Path

from flowtui.store import DB_NAME, AuditRecord, SqliteStore


def audit_of(state_dir: Path) -> list[AuditRecord]:
    """The audit log of `state_dir`, newest first; empty before the store exists."""
    if not (state_dir / DB_NAME).exists():
        return []
    store = SqliteStore.in_dir(state_dir)
    try:
        return store.audit()
    finally:
        store.close()


def open_intents(state_dir: Path) -> list[AuditRecord]:
    """Intents of `state_dir` without an outcome; empty before the store exists."""
    if not (state_dir / DB_NAME).exists():
        return []
    store = SqliteStore.in_dir(state_dir)
    try:
        return store.open_intents()
    finally:
        store.close()
