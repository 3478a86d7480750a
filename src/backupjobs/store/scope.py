"""Tenant scope: the one place that decides which customers an app may see.

Every query that touches tenant data filters through :class:`ScopeConditions`. An app
sees its own partner's customers, narrowed to its customer scope; any other customer is
simply absent, so that it answers exactly like one that does not exist.

>>> # select(customers.c.id).where(scope.conditions.allows(customers.c.partner_id, customers.c.id))

A statement built once for every app (a :class:`~backupjobs.store.reads.Query`) takes
the same conditions over its parameters (:data:`SCOPE_PARAMETERS`, see
:meth:`ScopeConditions.over`), which :meth:`TenantScope.parameters` fills in.

The read model keeps what it read of a visible customer until the change feed says one of
the tables these conditions read changed (``tests/readmodel/test_isolation.py`` checks
that each has a change-feed trigger): a change to the rule that reads another table needs
a trigger on it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, String, Uuid, and_, exists, or_, select
from sqlalchemy.types import TypeEngine

from backupjobs.store.schema import app_customers, apps, customers

PARTNER_PARAMETER = "scope_partner_id"
CLIENT_PARAMETER = "scope_client_id"
#: The parameters a statement built for any app takes for the scope.
SCOPE_PARAMETERS: Mapping[str, TypeEngine[Any]] = {
    PARTNER_PARAMETER: Uuid(),
    CLIENT_PARAMETER: String(),
}


@dataclass(frozen=True, slots=True)
class ScopeConditions:
    """The scope rules over a partner id and a client id: values, or bind parameters."""

    partner: Any
    client: Any

    @classmethod
    def over(cls, parameters: Mapping[str, ColumnElement[Any]]) -> ScopeConditions:
        """The conditions over a statement's :data:`SCOPE_PARAMETERS`."""
        return cls(parameters[PARTNER_PARAMETER], parameters[CLIENT_PARAMETER])

    def allows(
        self, partner_id: ColumnElement[UUID], customer_id: ColumnElement[UUID]
    ) -> ColumnElement[bool]:
        """A condition true for rows whose (partner, customer) this app may see."""
        if self.client is None:  # the partner's own work (TenantScope.whole_partner)
            whole: ColumnElement[bool] = partner_id == self.partner
            return whole
        app_sees_all = exists().where(
            apps.c.partner_id == self.partner,
            apps.c.client_id == self.client,
            apps.c.all_customers,
        )
        # Explicit correlation: left to itself, SQLAlchemy would add the outer table to
        # this subquery's FROM and the condition would hold for every customer.
        app_sees_this_one = (
            exists()
            .where(
                app_customers.c.partner_id == self.partner,
                app_customers.c.client_id == self.client,
                app_customers.c.customer_id == customer_id,
            )
            .correlate_except(app_customers)
        )
        return and_(partner_id == self.partner, or_(app_sees_all, app_sees_this_one))

    def customer(self, customer_id: UUID | ColumnElement[UUID]) -> Select[Any]:
        """One row (the customer's id) if ``customer_id`` is visible, none otherwise."""
        return select(customers.c.id).where(
            self.allows(customers.c.partner_id, customers.c.id), customers.c.id == customer_id
        )


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The customers visible to app ``client_id`` of partner ``partner_id``."""

    partner_id: UUID
    client_id: str

    @classmethod
    def whole_partner(cls, partner_id: UUID) -> PartnerScope:
        """Every customer of the partner, for work the service does on the partner's
        behalf rather than an app's (the upstream sync) and for the partner's own staff
        (the dashboard's users): no app narrows it."""
        return PartnerScope(partner_id)

    @property
    def conditions(self) -> ScopeConditions:
        """The scope rules over this app's partner and client ids. The empty client id
        (no app has it) is the whole partner's, however the scope was rebuilt: what the
        dashboard's users made (a webhook subscription) keeps its scope in its row."""
        if self.client_id == PartnerScope.CLIENT_ID:
            return ScopeConditions(self.partner_id, None)
        return ScopeConditions(self.partner_id, self.client_id)

    def parameters(self) -> dict[str, Any]:
        """Values for :data:`SCOPE_PARAMETERS`."""
        return {PARTNER_PARAMETER: self.partner_id, CLIENT_PARAMETER: self.client_id}


class PartnerScope(TenantScope):
    """:meth:`TenantScope.whole_partner`: no app, so no app's customer list narrows it.
    Its client id is empty, which no app has: a statement built for apps
    (:meth:`TenantScope.parameters`) shows it nothing."""

    __slots__ = ()
    #: The client id of the whole partner: empty, which no app has.
    CLIENT_ID = ""

    def __init__(self, partner_id: UUID) -> None:
        super().__init__(partner_id, self.CLIENT_ID)
