"""customer_blocks, and the reports' indexes by time

Revision ID: 0014_customer_blocks
Revises: 0013_history_latest_order
Create Date: 2026-12-03 17:00:00

``customer_blocks`` adds up ``customer_days`` per customer, block of 4 UTC days (days since
1970-01-01 divided by 4) and status, so that a summary over 30 days reads about 7 rows per
customer and status where it read 30 (``store/outcomes.py``). Counted here from the
existing ``customer_days``. The indexes on (partner, day), (partner, block) and (partner,
quarter) make a window of every customer one index range each, where the primary keys
(customer first) made it a scan of the partner's whole table or a range per customer.
"""

# ruff: noqa: S608 - the statement is built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_customer_blocks"
down_revision: str | None = "0013_history_latest_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The block of a day: floor division (days before 1970 are negative).
_BLOCK = "(day - ((day % 4) + 4) % 4) / 4"


def upgrade() -> None:
    op.create_table(
        "customer_blocks",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        sa.Column("backup_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "customer_id", "block", "status", name="pk_customer_blocks"
        ),
    )
    op.execute(
        "INSERT INTO customer_blocks (partner_id, customer_id, block, status, jobs,"
        " backup_size_bytes, duration_seconds)"
        f" SELECT partner_id, customer_id, {_BLOCK}, status, sum(jobs), sum(backup_size_bytes),"
        f" sum(duration_seconds) FROM customer_days"
        f" GROUP BY partner_id, customer_id, {_BLOCK}, status"
    )
    op.create_index(
        "ix_customer_blocks_partner_id_block", "customer_blocks", ["partner_id", "block"]
    )
    op.create_index("ix_customer_days_partner_id_day", "customer_days", ["partner_id", "day"])
    op.create_index("ix_job_outcomes_partner_id_quarter", "job_outcomes", ["partner_id", "quarter"])


def downgrade() -> None:
    op.drop_index("ix_job_outcomes_partner_id_quarter", table_name="job_outcomes")
    op.drop_index("ix_customer_days_partner_id_day", table_name="customer_days")
    op.drop_table("customer_blocks")
