"""Tenant scope: the one place that decides which customers an app may see.

Every query that touches tenant data filters through :class:`TenantScope`. An app sees
its own partner's customers, narrowed to its customer scope; any other customer is
simply absent, so that it answers exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select

from backupjobs.store.schema import app_customers, apps, customers


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The customers visible to app ``client_id`` of partner ``partner_id``."""

    partner_id: UUID
    client_id: str

    def allows(
        self, partner_id: ColumnElement[UUID], customer_id: ColumnElement[UUID]
    ) -> ColumnElement[bool]:
        """A condition true for rows whose (partner, customer) this app may see."""
        app_sees_all = exists().where(
            apps.c.partner_id == self.partner_id,
            apps.c.client_id == self.client_id,
            apps.c.all_customers,
        )
        # Explicit correlation: left to itself, SQLAlchemy would add the outer table to
        # this subquery's FROM and the condition would hold for every customer.
        app_sees_this_one = (
            exists()
            .where(
                app_customers.c.partner_id == self.partner_id,
                app_customers.c.client_id == self.client_id,
                app_customers.c.customer_id == customer_id,
            )
            .correlate_except(app_customers)
        )
        return and_(partner_id == self.partner_id, or_(app_sees_all, app_sees_this_one))

    def customers(self) -> Select[Any]:
        """The ids of the visible customers."""
        return select(customers.c.id).where(self.allows(customers.c.partner_id, customers.c.id))

    def customer(self, customer_id: UUID) -> Select[Any]:
        """One row if ``customer_id`` is visible, none otherwise."""
        return self.customers().where(customers.c.id == customer_id)
