"""an incident's events are found by the incident first

Revision ID: 0023_incident_events_index
Revises: 0022_pending_deliveries_index
Create Date: 2026-12-05 23:40:00

The index of an incident's events led with the partner, as the unique index of event
keys does, and was the smaller of the two: with the statistics of a table still filling
up (a new deployment, a partner's first sync), PostgreSQL looked up an event's key by
reading every event of the partner through it, a plan it kept for the connection's
prepared statement (3 ms a batch of 100 failed jobs at 10,000 events, and growing with
them). Led by the incident, it serves only the lookups of an incident's events, and the
event's key is always looked up in its own index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023_incident_events_index"
down_revision: str | None = "0022_pending_deliveries_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_events_partner_id_incident_id")
        batch_op.create_index(
            "ix_alert_events_incident_id_partner_id", ["incident_id", "partner_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_events_incident_id_partner_id")
        batch_op.create_index(
            "ix_alert_events_partner_id_incident_id", ["partner_id", "incident_id"]
        )
