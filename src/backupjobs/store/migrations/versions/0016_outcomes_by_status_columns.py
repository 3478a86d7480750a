"""customer_days and customer_blocks: a row per customer and day (block), the statuses
as columns

Revision ID: 0016_outcomes_by_status_columns
Revises: 0015_customer_figures
Create Date: 2026-12-04 17:10:00

A row per customer, day (or block) and status became a row per customer and day (block)
with the jobs in all and the jobs of each status (``jobs_0`` to ``jobs_14``, the codes of
catalog.STATUSES) as columns, and the bytes and seconds of them all: a summary of every
customer over 30 days reads about 2.4 times fewer rows (``store/summary.py``). Counted here
from the rows already kept; the bytes and seconds, which a status's row had apart, are
added up.
"""

# ruff: noqa: S608 - the statements are built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016_outcomes_by_status_columns"
down_revision: str | None = "0015_customer_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = range(15)
#: Each table and its unit.
_TABLES = (("customer_days", "day"), ("customer_blocks", "block"))


def _columns(unit: str, *, by_status: bool) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column(unit, sa.BigInteger(), nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
    ]
    if by_status:
        columns += [sa.Column(f"jobs_{s}", sa.Integer(), nullable=False) for s in _STATUSES]
    else:
        columns.append(sa.Column("status", sa.Integer(), nullable=False))
    return [
        *columns,
        sa.Column("backup_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
    ]


def _rebuild(table: str, unit: str, *, by_status: bool) -> None:
    """``table`` in the other shape, its rows counted again through a staging table."""
    staging = f"{table}_staging"
    op.create_table(staging, *_columns(unit, by_status=by_status))
    if by_status:
        statuses = ", ".join(f"sum(CASE WHEN status = {s} THEN jobs ELSE 0 END)" for s in _STATUSES)
        op.execute(
            f"INSERT INTO {staging} SELECT partner_id, customer_id, {unit}, sum(jobs),"
            f" {statuses}, sum(backup_size_bytes), sum(duration_seconds) FROM {table}"
            f" GROUP BY partner_id, customer_id, {unit}"
        )
    else:  # a status's bytes and seconds are not kept apart: they go with the first
        parts = " UNION ALL ".join(
            f"SELECT partner_id, customer_id, {unit}, jobs_{s}, {s},"
            f" CASE WHEN {s} = first THEN backup_size_bytes ELSE 0 END,"
            f" CASE WHEN {s} = first THEN duration_seconds ELSE 0 END"
            f" FROM (SELECT *, {_first_status()} AS first FROM {table}) AS t WHERE jobs_{s} > 0"
            for s in _STATUSES
        )
        op.execute(f"INSERT INTO {staging} {parts}")
    op.drop_table(table)
    op.create_table(
        table,
        *_columns(unit, by_status=by_status),
        sa.PrimaryKeyConstraint(
            "partner_id", "customer_id", unit, *(() if by_status else ("status",)),
            name=f"pk_{table}",
        ),
    )  # fmt: skip
    op.execute(f"INSERT INTO {table} SELECT * FROM {staging}")
    op.drop_table(staging)
    op.create_index(f"ix_{table}_partner_id_{unit}", table, ["partner_id", unit])


def _first_status() -> str:
    whens = " ".join(f"WHEN jobs_{s} > 0 THEN {s}" for s in _STATUSES)
    return f"CASE {whens} END"


def upgrade() -> None:
    for table, unit in _TABLES:
        _rebuild(table, unit, by_status=True)


def downgrade() -> None:
    for table, unit in _TABLES:
        _rebuild(table, unit, by_status=False)
