"""customers gain the vendor's profile: owner email, country or region, management mode,
tenants

Revision ID: 0011_customer_profile
Revises: 0010_dashboard_users
Create Date: 2026-12-02 17:10:00

Existing customers get ``""`` for owner email and country or region (the wire's "unknown")
and management mode 2, "To be configured": nobody has said who manages their tenants.
``tenants``: a JSON array of ``{"id", "name"}`` (``[]`` for existing customers), read with
the customer row.

``services_enabled``, ``services_ran``, ``services_problems`` and
``services_oldest_change`` sum up each customer's enabled services' latest jobs (what its
jobStatus depends on but for the time); computed here for existing customers, kept current
by every write that changes a customer's services.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.directory import summary_update
from backupjobs.store.schema import UtcDateTime

revision: str = "0011_customer_profile"
down_revision: str | None = "0010_dashboard_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_email", sa.String(254), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("country_or_region", sa.String(100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("management_mode", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(sa.Column("tenants", sa.Text(), nullable=False, server_default="[]"))
        for name in ("services_enabled", "services_ran", "services_problems"):
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("services_oldest_change", UtcDateTime(), nullable=True))
    # The figures' columns come later (0015_customer_figures).
    op.execute(summary_update(figures=False, since=False))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name in (
            "tenants",
            "services_oldest_change",
            "services_problems",
            "services_ran",
            "services_enabled",
        ):
            batch_op.drop_column(name)
        batch_op.drop_column("management_mode")
        batch_op.drop_column("country_or_region")
        batch_op.drop_column("owner_email")
