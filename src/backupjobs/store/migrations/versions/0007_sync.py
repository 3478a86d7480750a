"""upstream sync: upstreams, their runs and errors, the customers they list (issue 19)

Revision ID: 0007_sync
Revises: 0006_instance_secrets
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.schema import UtcDateTime

revision: str = "0007_sync"
down_revision: str | None = "0006_instance_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_upstreams",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("secret_file", sa.Text()),
        sa.Column("cert_file", sa.Text()),
        sa.Column("key_file", sa.Text()),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", UtcDateTime),
        sa.PrimaryKeyConstraint("partner_id", "name", name="pk_sync_upstreams"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_sync_upstreams_partner_id_partners"
        ),
    )
    op.create_table(
        "sync_runs",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("upstream", sa.String(100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False, server_default="0")
            for name in ("customers", "rows_read", "jobs_new", "jobs_updated", "errors", "requests")
        ),
        sa.PrimaryKeyConstraint("partner_id", "upstream", "started_at", "id", name="pk_sync_runs"),
        sa.UniqueConstraint("id", name="uq_sync_runs_id"),
        sa.ForeignKeyConstraint(
            ["partner_id", "upstream"],
            ["sync_upstreams.partner_id", "sync_upstreams.name"],
            name="fk_sync_runs_partner_id_sync_upstreams",
        ),
    )
    op.create_table(
        "sync_errors",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "run_id", "seq", name="pk_sync_errors"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_sync_errors_run_id_sync_runs"
        ),
    )
    op.create_table(
        "sync_customers",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("upstream", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("gone_at", UtcDateTime),
        sa.PrimaryKeyConstraint("partner_id", "upstream", "customer_id", name="pk_sync_customers"),
        sa.ForeignKeyConstraint(
            ["partner_id", "upstream"],
            ["sync_upstreams.partner_id", "sync_upstreams.name"],
            name="fk_sync_customers_partner_id_sync_upstreams",
        ),
    )


def downgrade() -> None:
    for table in ("sync_customers", "sync_errors", "sync_runs", "sync_upstreams"):
        op.drop_table(table)
