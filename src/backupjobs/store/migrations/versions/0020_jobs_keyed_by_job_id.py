"""the history keyed by (partner, jobId), without a foreign key to its service

Revision ID: 0020_jobs_keyed_by_job_id
Revises: 0019_attempts_unkeyed
Create Date: 2026-12-05 22:00:00

A job's history row was checked against its backup service row by row (PostgreSQL's
foreign key: a ``FOR KEY SHARE`` lock and an index lookup per job written), and kept two
unique indexes, (partner, customer, jobId) and (partner, jobId), where the second alone
is what ingestion upserts on. Together a sixth of PostgreSQL's time in ingestion
(``docs/scaling.md``, "The history's key"). Ingestion writes a job only in the
transaction that upserts its service (whose foreign key to the customer stays), and the
deletes (a customer's offboarding, retention) remove jobs before services.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0020_jobs_keyed_by_job_id"
down_revision: str | None = "0019_attempts_unkeyed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERVICE_KEY = "fk_jobs_partner_id_backup_services"
_JOB_ID = "ix_jobs_partner_id_job_id"
_SERVICE_COLUMNS = ["partner_id", "customer_id", "job_type", "job_module"]
#: The history's expression index (migration 0009): SQLite rebuilds the table for these
#: changes, and the rebuild cannot carry an expression index over (Alembic reflects the
#: table, and SQLAlchemy cannot reflect such an index), so it is made again after.
_HISTORY_INDEX: list[str | sa.TextClause] = [
    "partner_id",
    sa.text("coalesce(start_time, last_modify_time)"),
    "job_id",
]


@contextmanager
def _rebuilt() -> Iterator[None]:
    """Around a batch of changes to ``jobs``: SQLAlchemy's warning that it skips the
    expression index is not for the user, who gets the index back."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", sa.exc.SAWarning
        )
        yield
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_jobs_history", "jobs", _HISTORY_INDEX)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_SERVICE_KEY, "jobs", type_="foreignkey")
        op.drop_constraint("pk_jobs", "jobs", type_="primary")
        # The unique index becomes the key as it is: not built again on a large history.
        op.execute(f"ALTER TABLE jobs ADD CONSTRAINT pk_jobs PRIMARY KEY USING INDEX {_JOB_ID}")
        return
    with _rebuilt(), op.batch_alter_table("jobs", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(_SERVICE_KEY, type_="foreignkey")
        batch_op.drop_index(_JOB_ID)
        batch_op.drop_constraint("pk_jobs", type_="primary")
        batch_op.create_primary_key("pk_jobs", ["partner_id", "job_id"])


def downgrade() -> None:
    # Jobs whose service is gone (none, by the code) would stop the key's return.
    op.execute(
        "DELETE FROM jobs WHERE NOT EXISTS (SELECT 1 FROM backup_services s"
        " WHERE s.partner_id = jobs.partner_id AND s.customer_id = jobs.customer_id"
        " AND s.job_type = jobs.job_type AND s.job_module = jobs.job_module)"
    )
    with _rebuilt(), op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(_JOB_ID, ["partner_id", "job_id"], unique=True)
        batch_op.drop_constraint("pk_jobs", type_="primary")
        batch_op.create_primary_key("pk_jobs", ["partner_id", "customer_id", "job_id"])
        batch_op.create_foreign_key(
            _SERVICE_KEY, "backup_services", _SERVICE_COLUMNS, _SERVICE_COLUMNS
        )
