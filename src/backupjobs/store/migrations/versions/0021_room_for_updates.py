"""room in the pages of customers and backup_services for their rows' new versions

Revision ID: 0021_room_for_updates
Revises: 0020_jobs_keyed_by_job_id
Create Date: 2026-12-05 22:10:00

Nearly every ingestion batch rewrites the rows of the services and customers it names.
With full pages, PostgreSQL put each new version on another page and added an entry for
it to every index of the table; with half of each page free it updates in place (a HOT
update, no index entry). PostgreSQL only: SQLite has no such setting. Pages written
before keep their rows until these move, as they do at their next update.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_room_for_updates"
down_revision: str | None = "0020_jobs_keyed_by_job_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("customers", "backup_services")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
