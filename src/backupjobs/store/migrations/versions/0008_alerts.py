"""alerts: webhook subscriptions, the events outbox, incidents, deliveries and attempts

Revision ID: 0008_alerts
Revises: 0007_sync
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backupjobs.store.schema import UtcDateTime

revision: str = "0008_alerts"
down_revision: str | None = "0007_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_mask", sa.Integer(), nullable=False),
        sa.Column("all_customers", sa.Boolean(), nullable=False),
        sa.Column("stale_after_seconds", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("secret", sa.LargeBinary(128), nullable=False),
        sa.Column("previous_secret", sa.LargeBinary(128)),
        sa.Column("previous_secret_until", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "id", name="pk_webhook_subscriptions"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_webhook_subscriptions_partner_id_partners"
        ),
    )
    op.create_table(
        "webhook_customers",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "subscription_id", "customer_id", name="pk_webhook_customers"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id", "subscription_id"],
            ["webhook_subscriptions.partner_id", "webhook_subscriptions.id"],
            name="fk_webhook_customers_partner_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "alert_incidents",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_type", sa.Integer(), nullable=False),
        sa.Column("job_module", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("partner_id", "customer_id", "id", name="pk_alert_incidents"),
    )
    op.create_index(
        "ix_alert_incidents_open",
        "alert_incidents",
        ["partner_id", "customer_id", "job_type", "job_module"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "alert_events",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("job_type", sa.Integer()),
        sa.Column("job_module", sa.Integer()),
        sa.Column("incident_id", sa.Uuid()),
        sa.Column("job", sa.Text()),
        sa.Column("stale_after_seconds", sa.BigInteger()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_alert_events_partner_id_partners"
        ),
    )
    op.create_index(
        "ix_alert_events_partner_id_event_key",
        "alert_events",
        ["partner_id", "event_key"],
        unique=True,
    )
    op.create_index(
        "ix_alert_events_partner_id_incident_id", "alert_events", ["partner_id", "incident_id"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claim", sa.Uuid()),
        sa.Column("last_response_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["partner_id", "subscription_id"],
            ["webhook_subscriptions.partner_id", "webhook_subscriptions.id"],
            name="fk_webhook_deliveries_partner_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_partner_id_subscription_id_created_at_id",
        "webhook_deliveries",
        ["partner_id", "subscription_id", "created_at", "id"],
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("response_excerpt", sa.Text()),
        sa.PrimaryKeyConstraint("partner_id", "delivery_id", "number", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["partner_id", "delivery_id"],
            ["webhook_deliveries.partner_id", "webhook_deliveries.id"],
            name="fk_webhook_attempts_partner_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_partner_id_subscription_id_created_at_id", "webhook_deliveries"
    )
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_alert_events_partner_id_incident_id", "alert_events")
    op.drop_index("ix_alert_events_partner_id_event_key", "alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alert_incidents_open", "alert_incidents")
    op.drop_table("alert_incidents")
    op.drop_table("webhook_customers")
    op.drop_table("webhook_subscriptions")
