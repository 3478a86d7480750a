"""notifications of changes to what the job pages show (PostgreSQL)

Revision ID: 0004_change_feed
Revises: 0003_scale
Create Date: 2026-12-02 01:40:00

Every API process listens on channel ``backupjobs_changes`` (see
``backupjobs.readmodel.changes``). A change to customers (their services' revision among
them) names the customers, at most 200 ids per notification; a change to apps or their
customer scopes names ``*``: anything may have changed. Triggers, so that no write is
missed, whichever program makes it. Notifications go out when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_change_feed"
down_revision: str | None = "0003_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CUSTOMERS_CHANGED = """
CREATE FUNCTION backupjobs_customers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('backupjobs_changes', string_agg(id::text, ','))
    FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed) AS named
    GROUP BY chunk;
    RETURN NULL;
END $$
"""
_ANYTHING_CHANGED = """
CREATE FUNCTION backupjobs_anything_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('backupjobs_changes', '*');
    RETURN NULL;
END $$
"""
# name: (events, table, transition table clause, function)
_TRIGGERS = {
    "backupjobs_customers_updated": (
        "UPDATE", "customers", "REFERENCING NEW TABLE AS changed", "backupjobs_customers_changed",
    ),
    "backupjobs_customers_deleted": (
        "DELETE", "customers", "REFERENCING OLD TABLE AS changed", "backupjobs_customers_changed",
    ),
    "backupjobs_customers_truncated": (
        "TRUNCATE", "customers", "", "backupjobs_anything_changed",
    ),
    "backupjobs_apps_changed": (
        "INSERT OR UPDATE OR DELETE OR TRUNCATE", "apps", "", "backupjobs_anything_changed",
    ),
    "backupjobs_app_customers_changed": (
        "INSERT OR UPDATE OR DELETE OR TRUNCATE", "app_customers", "",
        "backupjobs_anything_changed",
    ),
}  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CUSTOMERS_CHANGED)
    op.execute(_ANYTHING_CHANGED)
    for name, (events, table, transition, function) in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (_, table, _, _) in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION backupjobs_customers_changed()")
    op.execute("DROP FUNCTION backupjobs_anything_changed()")
