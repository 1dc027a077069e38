"""The team-mode schema, versioned: `MIGRATIONS[n - 1]` takes a database from version n - 1
to n. `flowtui db upgrade` applies what is missing (one transaction, under an advisory lock
so two upgrades never interleave); every other process only checks the version and refuses
a database it does not know (newer) or one not yet created."""

from __future__ import annotations

import psycopg

from flowtui.store.records import SchemaMismatch

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE flowtui_schema (version integer NOT NULL);
    INSERT INTO flowtui_schema VALUES (0);
    CREATE TABLE audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_type text NOT NULL,
        intent_id bigint,
        account text NOT NULL,
        flow_id text NOT NULL,
        old_status text,
        new_status text,
        changed_by text NOT NULL,
        host text,
        timestamp timestamptz NOT NULL,
        result text,
        error text,
        reason text,
        epoch bigint
    );
    CREATE INDEX audit_by_flow ON audit (account, flow_id, id);
    CREATE INDEX audit_by_time ON audit (timestamp);
    CREATE INDEX audit_by_intent ON audit (intent_id);
    CREATE TABLE prior_states (
        rule text NOT NULL,
        account text NOT NULL,
        flow_id text NOT NULL,
        state text NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (rule, account, flow_id)
    );
    CREATE TABLE overrides (
        account text NOT NULL,
        flow_id text NOT NULL,
        state text NOT NULL,
        until timestamptz NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (account, flow_id)
    );
    CREATE TABLE desired_memory (
        account text NOT NULL,
        flow_id text NOT NULL,
        desired text NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (account, flow_id)
    );
    CREATE TABLE tokens (
        account text PRIMARY KEY,
        seed text NOT NULL,
        access_token text NOT NULL,
        refresh_token text,
        generation bigint NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE leases (
        scheduler text PRIMARY KEY,
        holder text NOT NULL,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        renewed_at timestamptz NOT NULL
    );
    ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_UPGRADE_LOCK = 0x666C6F77  # advisory lock key ("flow")


def schema_version(conn: psycopg.Connection) -> int | None:
    """The database's schema version, None before `flowtui db upgrade` ran."""
    found = conn.execute("SELECT to_regclass('flowtui_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute("SELECT version FROM flowtui_schema").fetchone()
    return int(row[0]) if row else None


def check_version(conn: psycopg.Connection, where: str) -> None:
    """Refuse a database without the schema or with one this version does not know."""
    version = schema_version(conn)
    if version is None:
        raise SchemaMismatch(f"{where} has no flowtui schema yet: run `flowtui db upgrade`")
    if version > SCHEMA_VERSION:
        raise SchemaMismatch(
            f"{where} has schema version {version}, newer than this flowtui knows"
            f" ({SCHEMA_VERSION}): upgrade flowtui on this machine"
        )
    if version < SCHEMA_VERSION:
        raise SchemaMismatch(
            f"{where} has schema version {version}, older than this flowtui needs"
            f" ({SCHEMA_VERSION}): run `flowtui db upgrade`"
        )


def upgrade(conn: psycopg.Connection, where: str) -> tuple[int, int]:
    """Apply the missing migrations; (version before, version after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))
        before = schema_version(conn) or 0
        if before > SCHEMA_VERSION:
            check_version(conn, where)
        for sql in MIGRATIONS[before:]:
            conn.execute(sql)  # trusted constant DDL
        conn.execute("UPDATE flowtui_schema SET version = %s", (SCHEMA_VERSION,))
    return before, SCHEMA_VERSION
