"""The state store: audit log (intent before a change, outcome after), prior states kept for
`after = "restore"`, operator overrides — and in team mode (SPEC §8) rotated tokens and the
scheduler lease too.

`Store` (flowtui.store.records) is the contract the engine, CLI and app use. Two backends
satisfy it: `SqliteStore` in the state directory (default) and `PostgresStore` when
`settings.state_url_env` names a `postgresql://` URL. `open_store` picks one.
"""

from flowtui.store.open import StoreTarget, open_store, store_target
from flowtui.store.records import (
    SKIP,
    AuditRecord,
    Fence,
    Fenced,
    IntentOutcome,
    OverrideRecord,
    SchemaMismatch,
    Store,
    StoreError,
)
from flowtui.store.sqlite import DB_NAME, SqliteStore, store_exists
from flowtui.store.statedir import StateDirError, prepare_state_dir

__all__ = [
    "DB_NAME",
    "SKIP",
    "AuditRecord",
    "Fence",
    "Fenced",
    "IntentOutcome",
    "OverrideRecord",
    "SchemaMismatch",
    "SqliteStore",
    "StateDirError",
    "Store",
    "StoreError",
    "StoreTarget",
    "open_store",
    "prepare_state_dir",
    "store_exists",
    "store_target",
]
