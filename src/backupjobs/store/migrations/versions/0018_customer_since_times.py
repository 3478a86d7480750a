"""customers keep their services' "since" times for the summaries' stale services

Revision ID: 0018_customer_since_times
Revises: 0017_customer_long_blocks
Create Date: 2026-12-04 21:10:00

``services_since`` keeps, in order, when each of a customer's enabled services that ran
last succeeded (or, never, was first seen), so that a summary counts the stale ones at
its time without reading the services' rows (``store/summary.py``); computed here for
existing customers, kept current with the other ``services_*`` columns by every write
that changes a customer's services or a last success.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.directory import summary_update
from backupjobs.store.schema import Moments

revision: str = "0018_customer_since_times"
down_revision: str | None = "0017_customer_long_blocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("services_since", Moments(), nullable=True))
    op.execute(summary_update())


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("services_since")
