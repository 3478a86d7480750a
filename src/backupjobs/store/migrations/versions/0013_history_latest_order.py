"""history: each service's last success and failures in a row again, in today's order

Revision ID: 0013_history_latest_order
Revises: 0012_customer_days
Create Date: 2026-12-03 17:10:00

Migration 0009 counted ``backup_services.last_success_time`` and
``consecutive_failures`` from the history ranking a job not started above every started
one. A service's latest job is the one with the greatest sort time (its start, or its last
change when not started), ties by jobId (``model.latest_sort_key``), which ingestion and
retention keep them by: counted again here in that order.
"""

# ruff: noqa: S608 - the statement is built from this file's constants alone
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_history_latest_order"
down_revision: str | None = "0012_customer_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FAILED = "(3, 7)"
_SUCCESSFUL = "(2, 4)"
# Job k ranks above job j of the same service: a greater sort time, or the same and a
# greater jobId.
_ABOVE = (
    "(coalesce(k.start_time, k.last_modify_time) > coalesce(j.start_time, j.last_modify_time)"
    " OR (coalesce(k.start_time, k.last_modify_time)"
    " = coalesce(j.start_time, j.last_modify_time) AND k.job_id > j.job_id))"
)
_SAME_SERVICE = (
    "{a}.partner_id = {b}.partner_id AND {a}.customer_id = {b}.customer_id"
    " AND {a}.job_type = {b}.job_type AND {a}.job_module = {b}.job_module"
)


def upgrade() -> None:
    latest_success = (
        "SELECT coalesce(j.end_time, j.start_time) FROM jobs j WHERE"
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
    """Nothing to undo: the columns stay, counted in the order every release uses now."""
