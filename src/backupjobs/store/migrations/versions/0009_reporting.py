"""reporting: each service's last success and failures in a row, outcomes per quarter-hour

Revision ID: 0009_reporting
Revises: 0008_alerts
Create Date: 2026-12-02 17:20:00

``backup_services.last_success_time`` and ``consecutive_failures``; ``job_outcomes``
(jobs, bytes and seconds per service, quarter-hour of sort time and status), and the
history's index (partner, sort time, jobId). Existing history is counted in.
"""

# ruff: noqa: S608 - the statements are built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backupjobs.store.schema

revision: str = "0009_reporting"
down_revision: str | None = "0008_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SORT = "coalesce(start_time, last_modify_time)"
_FAILED = "(3, 7)"
_SUCCESSFUL = "(2, 4)"
# Job k ranks above job j of the same service: not started first, then later start, jobId.
_ABOVE = (
    "((k.start_time IS NULL AND (j.start_time IS NOT NULL OR k.job_id > j.job_id))"
    " OR (k.start_time > j.start_time)"
    " OR (k.start_time = j.start_time AND k.job_id > j.job_id))"
)
_SAME_SERVICE = (
    "{a}.partner_id = {b}.partner_id AND {a}.customer_id = {b}.customer_id"
    " AND {a}.job_type = {b}.job_type AND {a}.job_module = {b}.job_module"
)


def upgrade() -> None:
    with op.batch_alter_table("backup_services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_success_time",
                backupjobs.store.schema.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index(
        "ix_jobs_history",
        "jobs",
        ["partner_id", sa.text(_SORT), "job_id"],
    )
    op.create_table(
        "job_outcomes",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("quarter", sa.BigInteger(), nullable=False),
        sa.Column("job_type", sa.Integer(), nullable=False),
        sa.Column("job_module", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        sa.Column("backup_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id",
            "customer_id",
            "quarter",
            "job_type",
            "job_module",
            "status",
            name="pk_job_outcomes",
        ),
    )
    _count_existing_history()


def _count_existing_history() -> None:
    if op.get_bind().dialect.name == "postgresql":
        quarter = f"floor(extract(epoch FROM {_SORT}) / 900)::bigint"
        seconds = "greatest(floor(extract(epoch FROM end_time - start_time)), 0)::bigint"
    else:  # integer microseconds; floor division for times before 1970 too
        quarter = f"(({_SORT}) - ((({_SORT}) % 900000000) + 900000000) % 900000000) / 900000000"
        seconds = "max((end_time - start_time) / 1000000, 0)"
    op.execute(
        "INSERT INTO job_outcomes (partner_id, customer_id, quarter, job_type, job_module,"
        " status, jobs, backup_size_bytes, duration_seconds)"
        f" SELECT partner_id, customer_id, {quarter}, job_type, job_module, status, count(*),"
        f" coalesce(sum(backup_size_bytes), 0), coalesce(sum({seconds}), 0) FROM jobs"
        f" GROUP BY partner_id, customer_id, {quarter}, job_type, job_module, status"
    )
    latest_success = (
        f"SELECT coalesce(j.end_time, j.start_time) FROM jobs j WHERE"
        f" {_SAME_SERVICE.format(a='j', b='backup_services')} AND j.status IN {_SUCCESSFUL}"
        " AND NOT EXISTS (SELECT 1 FROM jobs k WHERE"
        f" {_SAME_SERVICE.format(a='k', b='j')} AND k.status IN {_SUCCESSFUL} AND {_ABOVE})"
    )
    failures = (
        f"SELECT count(*) FROM jobs j WHERE {_SAME_SERVICE.format(a='j', b='backup_services')}"
        f" AND j.status IN {_FAILED} AND NOT EXISTS (SELECT 1 FROM jobs k WHERE"
        f" {_SAME_SERVICE.format(a='k', b='j')} AND k.status NOT IN {_FAILED} AND {_ABOVE})"
    )
    op.execute(
        f"UPDATE backup_services SET last_success_time = ({latest_success}),"
        f" consecutive_failures = ({failures})"
    )


def downgrade() -> None:
    op.drop_table("job_outcomes")
    op.drop_index("ix_jobs_history", table_name="jobs")
    with op.batch_alter_table("backup_services", schema=None) as batch_op:
        batch_op.drop_column("consecutive_failures")
        batch_op.drop_column("last_success_time")
