"""a backup service can be disabled: it leaves the job pages and keeps its history

Revision ID: 0005_service_disabled
Revises: 0004_change_feed
Create Date: 2026-12-02 14:30:00

``backup_services.disabled_at``: NULL for a service in use; the time an operator disabled
it otherwise (``backupjobs services disable``). The job pages (v3, Modern) leave disabled
services out; its jobs stay in the history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backupjobs.store.schema

revision: str = "0005_service_disabled"
down_revision: str | None = "0004_change_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backup_services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "disabled_at", backupjobs.store.schema.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("backup_services", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
