"""the due deliveries' index holds the pending ones only

Revision ID: 0022_pending_deliveries_index
Revises: 0021_room_for_updates
Create Date: 2026-12-05 22:20:00

The index of (status, due time) kept an entry for every delivery ever made, and every
outcome (delivered, failed, skipped) added one more; the deliverer only ever asks for the
pending ones. A partial index of the pending ones by due time stays the size of the
queue, and an outcome that leaves the queue writes no entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_pending_deliveries_index"
down_revision: str | None = "0021_room_for_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_status_next_attempt_at")
        batch_op.create_index(
            "ix_webhook_deliveries_due",
            ["next_attempt_at"],
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_due")
        batch_op.create_index(
            "ix_webhook_deliveries_status_next_attempt_at", ["status", "next_attempt_at"]
        )
