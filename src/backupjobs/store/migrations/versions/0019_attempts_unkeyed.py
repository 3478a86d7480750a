"""webhook attempts without a foreign key to their delivery

Revision ID: 0019_attempts_unkeyed
Revises: 0018_customer_since_times
Create Date: 2026-12-05 04:00:00

An attempt is written only by the process whose claim has just updated its delivery,
and the deletes of deliveries (a subscription's, a redelivery's attempts) remove the
attempts themselves; PostgreSQL's check of the key, row by row with a plan cached per
connection when the table was small, scanned every delivery for each attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019_attempts_unkeyed"
down_revision: str | None = "0018_customer_since_times"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "fk_webhook_attempts_partner_id_webhook_deliveries"


def upgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_constraint(_NAME, type_="foreignkey")


def downgrade() -> None:
    # Attempts of deliveries removed meanwhile (none, by the code) would stop it.
    op.execute(
        "DELETE FROM webhook_attempts WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
        " WHERE d.partner_id = webhook_attempts.partner_id"
        " AND d.id = webhook_attempts.delivery_id)"
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_foreign_key(
            _NAME,
            "webhook_deliveries",
            ["partner_id", "delivery_id"],
            ["partner_id", "id"],
            ondelete="CASCADE",
        )
