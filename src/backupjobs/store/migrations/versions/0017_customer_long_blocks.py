"""customer_long_blocks: the outcomes per customer and long block of 16 UTC days

Revision ID: 0017_customer_long_blocks
Revises: 0016_outcomes_by_status_columns
Create Date: 2026-12-04 21:00:00

``customer_long_blocks`` adds up ``customer_blocks`` per customer and long block of 16 UTC
days (4 blocks; days since 1970-01-01 divided by 16), so that a summary over 30 days reads
about 7 rows per customer where it read about 10 (``store/summary.py``). Counted here from
the blocks already kept.
"""

# ruff: noqa: S608 - the statement is built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_customer_long_blocks"
down_revision: str | None = "0016_outcomes_by_status_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = range(15)
# The long block of a block: floor division (blocks before 1970 are negative).
_LONG_BLOCK = "(block - ((block % 4) + 4) % 4) / 4"
_SUMMED = ("jobs", *(f"jobs_{s}" for s in _STATUSES), "backup_size_bytes", "duration_seconds")


def upgrade() -> None:
    op.create_table(
        "customer_long_blocks",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("long_block", sa.BigInteger(), nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        *(sa.Column(f"jobs_{s}", sa.Integer(), nullable=False) for s in _STATUSES),
        sa.Column("backup_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "customer_id", "long_block", name="pk_customer_long_blocks"
        ),
    )
    names = ", ".join(_SUMMED)
    sums = ", ".join(f"sum({name})" for name in _SUMMED)
    op.execute(
        f"INSERT INTO customer_long_blocks (partner_id, customer_id, long_block, {names})"
        f" SELECT partner_id, customer_id, {_LONG_BLOCK}, {sums} FROM customer_blocks"
        f" GROUP BY partner_id, customer_id, {_LONG_BLOCK}"
    )
    op.create_index(
        "ix_customer_long_blocks_partner_id_long_block",
        "customer_long_blocks",
        ["partner_id", "long_block"],
    )


def downgrade() -> None:
    op.drop_table("customer_long_blocks")
