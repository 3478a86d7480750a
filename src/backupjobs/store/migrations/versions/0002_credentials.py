"""client certificates and the replay cache of client assertions

Revision ID: 0002_credentials
Revises: 0001
Create Date: 2026-11-22 11:48:14.180512
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backupjobs.store.schema

revision: str = "0002_credentials"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = backupjobs.store.schema.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "app_certificates",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("thumbprint", sa.String(length=40), nullable=False),
        sa.Column("thumbprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("key_type", sa.String(length=32), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("not_before", _UTC(timezone=True), nullable=False),
        sa.Column("not_after", _UTC(timezone=True), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.Column("last_used_at", _UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"],
            ["apps.partner_id", "apps.client_id"],
            name=op.f("fk_app_certificates_partner_id_apps"),
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "client_id", "thumbprint", name=op.f("pk_app_certificates")
        ),
    )
    op.create_index(
        op.f("ix_app_certificates_client_id"), "app_certificates", ["client_id"], unique=False
    )
    op.create_table(
        "assertion_jtis",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id", "client_id"],
            ["apps.partner_id", "apps.client_id"],
            name=op.f("fk_assertion_jtis_partner_id_apps"),
        ),
        sa.PrimaryKeyConstraint("partner_id", "client_id", "jti", name=op.f("pk_assertion_jtis")),
    )


def downgrade() -> None:
    op.drop_table("assertion_jtis")
    op.drop_index(op.f("ix_app_certificates_client_id"), table_name="app_certificates")
    op.drop_table("app_certificates")
