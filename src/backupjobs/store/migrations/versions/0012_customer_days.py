"""customer_days: the outcomes per customer, UTC day and status

Revision ID: 0012_customer_days
Revises: 0011_customer_profile
Create Date: 2026-12-03 08:00:00

``customer_days`` adds up ``job_outcomes`` per customer, UTC day (days since
1970-01-01) and status, so that a summary or ``/daily`` reads a row per customer and day
where it read a row per service and quarter-hour (``store/outcomes.py`` says why). Counted
here from the existing ``job_outcomes``, which equal a count of the history.
"""

# ruff: noqa: S608 - the statement is built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_customer_days"
down_revision: str | None = "0011_customer_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The UTC day of a quarter-hour: floor division (quarter-hours before 1970 are negative).
_DAY = "(quarter - ((quarter % 96) + 96) % 96) / 96"


def upgrade() -> None:
    op.create_table(
        "customer_days",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        sa.Column("backup_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "customer_id", "day", "status", name="pk_customer_days"
        ),
    )
    op.execute(
        "INSERT INTO customer_days (partner_id, customer_id, day, status, jobs,"
        " backup_size_bytes, duration_seconds)"
        f" SELECT partner_id, customer_id, {_DAY}, status, sum(jobs), sum(backup_size_bytes),"
        f" sum(duration_seconds) FROM job_outcomes"
        f" GROUP BY partner_id, customer_id, {_DAY}, status"
    )


def downgrade() -> None:
    op.drop_table("customer_days")
