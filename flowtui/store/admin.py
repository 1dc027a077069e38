"""`flowtui db upgrade` and `flowtui db grant`: the team-mode database's schema and its
least-privilege roles, enforced by PostgreSQL itself (grants and row-level security), not
only by the app.

| role | may |
|---|---|
| reader | read audit, overrides, prior states, leases (not the rotated tokens) |
| operator | also write overrides, audit rows of hand changes (not `scheduler:…`), tokens |
| scheduler | also take and renew the lease, write scheduler intents, prior states, prune |
"""

from __future__ import annotations

from typing import Literal

from psycopg import sql

from flowtui.store.open import redact_url
from flowtui.store.pg_schema import check_version, upgrade
from flowtui.store.postgres import connect
from flowtui.store.records import StoreError

RoleKind = Literal["reader", "operator", "scheduler"]

_READ = ("audit", "overrides", "prior_states", "desired_memory", "leases", "flowtui_schema")
_TABLE_GRANTS: dict[RoleKind, dict[str, str]] = {
    "reader": dict.fromkeys(_READ, "SELECT"),
    "operator": {
        **dict.fromkeys(_READ, "SELECT"),
        "audit": "SELECT, INSERT",
        "overrides": "SELECT, INSERT, UPDATE, DELETE",
        "tokens": "SELECT, INSERT, UPDATE",
    },
    "scheduler": {
        **dict.fromkeys(_READ, "SELECT"),
        "audit": "SELECT, INSERT, DELETE",
        "prior_states": "SELECT, INSERT, DELETE",
        "desired_memory": "SELECT, INSERT, UPDATE",
        "leases": "SELECT, INSERT, UPDATE",
        "tokens": "SELECT, INSERT, UPDATE",
    },
}
# Row-level security on audit: who may add which rows (reading is open to every role).
_AUDIT_INSERT_CHECK: dict[RoleKind, str] = {
    "reader": "false",
    "operator": "changed_by NOT LIKE 'scheduler:%'",
    "scheduler": "true",
}


def upgrade_database(url: str) -> tuple[int, int]:
    """Create or migrate the schema at `url`; (version before, version after)."""
    with connect(url) as conn:
        return upgrade(conn, redact_url(url))


def grant(url: str, kind: RoleKind, role: str) -> None:
    """Give the existing database role `role` exactly the privileges of `kind` on the
    flowtui tables of the URL's schema (revoking what it had there first)."""
    where = redact_url(url)
    with connect(url) as conn:
        check_version(conn, where)
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            raise StoreError(f"no role {role!r} in {where}: create it first (CREATE ROLE)")
        who = sql.Identifier(role)
        with conn.transaction():
            schema = sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who))
            conn.execute(
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, who)
            )
            for table, privileges in _TABLE_GRANTS[kind].items():
                conn.execute(
                    sql.SQL("GRANT {} ON {} TO {}").format(
                        sql.SQL(privileges), sql.Identifier(table), who
                    )
                )
            conn.execute(
                sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, who)
            )
            for action in ("read", "add", "prune"):
                conn.execute(
                    sql.SQL("DROP POLICY IF EXISTS {} ON audit").format(
                        sql.Identifier(f"flowtui_{action}_{role}")
                    )
                )
            conn.execute(
                sql.SQL("CREATE POLICY {} ON audit FOR SELECT TO {} USING (true)").format(
                    sql.Identifier(f"flowtui_read_{role}"), who
                )
            )
            conn.execute(
                sql.SQL("CREATE POLICY {} ON audit FOR INSERT TO {} WITH CHECK ({})").format(
                    sql.Identifier(f"flowtui_add_{role}"), who, sql.SQL(_AUDIT_INSERT_CHECK[kind])
                )
            )
            if kind == "scheduler":
                conn.execute(
                    sql.SQL("CREATE POLICY {} ON audit FOR DELETE TO {} USING (true)").format(
                        sql.Identifier(f"flowtui_prune_{role}"), who
                    )
                )
