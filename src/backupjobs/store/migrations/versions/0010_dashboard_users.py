"""dashboard users (Argon2id password hashes) and their server-side sessions

Revision ID: 0010_dashboard_users
Revises: 0009_reporting
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.schema import UtcDateTime

revision: str = "0010_dashboard_users"
down_revision: str | None = "0009_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_users",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "id", name="pk_dashboard_users"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_dashboard_users_partner_id_partners"
        ),
        sa.UniqueConstraint("id", name="uq_dashboard_users_id"),
        sa.UniqueConstraint("email", name="uq_dashboard_users_email"),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "user_id", "token_hash", name="pk_dashboard_sessions"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "user_id"],
            ["dashboard_users.partner_id", "dashboard_users.id"],
            name="fk_dashboard_sessions_partner_id_dashboard_users",
        ),
        sa.UniqueConstraint("token_hash", name="uq_dashboard_sessions_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_sessions")
    op.drop_table("dashboard_users")
