"""customers keep their services' figures for the summaries

Revision ID: 0015_customer_figures
Revises: 0014_customer_blocks
Create Date: 2026-12-04 17:00:00

``services_failing``, ``services_backup_size_bytes`` and ``services_last_success`` add up
each customer's enabled services as a summary shows them (``store/summary.py``), so that a
summary of every customer reads no service row but to count the stale ones (which depend
on the time); computed here for existing customers, kept current with the other
``services_*`` columns by every write that changes a customer's services.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.directory import summary_update
from backupjobs.store.schema import UtcDateTime

revision: str = "0015_customer_figures"
down_revision: str | None = "0014_customer_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("services_failing", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "services_backup_size_bytes", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(sa.Column("services_last_success", UtcDateTime(), nullable=True))
    op.execute(summary_update(since=False))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name in (
            "services_last_success",
            "services_backup_size_bytes",
            "services_failing",
        ):
            batch_op.drop_column(name)
