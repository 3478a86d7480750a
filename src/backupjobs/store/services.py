"""A customer's backup services as the job pages read them: two statements built once.

>>> # revision = await services_revision(db, scope, customer_id)      # None: not visible
>>> # revision, services = await read_services(db, scope, customer_id)

A service's latest job is the one with the greatest sort time (its start time, or its last
modification when it has none), ties by jobId (:func:`backupjobs.model.latest_sort_key`).
Ingestion keeps a copy of that job
in ``backup_services`` in the same transaction as the history row, and gives the customer
a new ``services_revision``, so a page never reads ``jobs``, and a reader that holds the
services of the customer's current revision holds its current services. Both functions
read outside any transaction, through :meth:`Database.fetch` (on PostgreSQL many calls per
round trip); what is kept of them is the read model's (:mod:`backupjobs.readmodel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, Uuid, and_, literal_column, select

from backupjobs.model import ServiceState
from backupjobs.store.database import Database
from backupjobs.store.reads import Query
from backupjobs.store.schema import (
    JOB_FIELDS,
    LATEST,
    UtcDateTime,
    backup_services,
    customers,
    in_years_1_to_9999,
)
from backupjobs.store.scope import SCOPE_PARAMETERS, ScopeConditions, TenantScope

_SERVICE_STATE = (
    backup_services.c.job_type,
    backup_services.c.job_module,
    *(
        (
            in_years_1_to_9999(backup_services.c[LATEST + name])
            if isinstance(backup_services.c[LATEST + name].type, UtcDateTime)
            else backup_services.c[LATEST + name]
        ).label(name)
        for name in JOB_FIELDS
    ),
)
_SERVICE_ORDER = (backup_services.c.job_type, backup_services.c.job_module)
_CUSTOMER = "customer_id"
_PARAMETERS = {**SCOPE_PARAMETERS, _CUSTOMER: Uuid()}


def _services_revision(p: Mapping[str, ColumnElement[Any]]) -> Select[Any]:
    """The customer's services revision, if the customer is visible: one row or none."""
    scope = ScopeConditions.over(p)
    # LIMIT: one row at most, and PostgreSQL then looks the customer up by key for each
    # call answered together (see infra.read_connections), whatever its statistics say.
    return (
        scope.customer(p[_CUSTOMER])
        .with_only_columns(customers.c.services_revision)
        .limit(literal_column("1"))
    )


def _services(p: Mapping[str, ColumnElement[Any]]) -> Select[Any]:
    """The customer's revision and services (latest job each) ordered by jobType,
    jobModule, read together; one row with no service if it has none; none if the
    customer is not visible."""
    scope = ScopeConditions.over(p)
    its_services = and_(
        backup_services.c.partner_id == customers.c.partner_id,
        backup_services.c.customer_id == customers.c.id,
        # In the join, not the filter: a customer whose services are all disabled still
        # has its one row (the revision), and answers as one with no service.
        backup_services.c.disabled_at.is_(None),
    )
    return (
        select(customers.c.services_revision, *_SERVICE_STATE)
        .select_from(customers.outerjoin(backup_services, its_services))
        .where(
            scope.allows(customers.c.partner_id, customers.c.id),
            customers.c.id == p[_CUSTOMER],
        )
        .order_by(*_SERVICE_ORDER)
    )


# Built once: a request only binds values. A customer's services are read as a revision
# first (a key lookup, one short row); the services themselves only when the reader does
# not hold them at that revision already.
SERVICES_REVISION = Query(_services_revision, _PARAMETERS)
SERVICES = Query(_services, _PARAMETERS, order_by=[column.key for column in _SERVICE_ORDER])


def _parameters(scope: TenantScope, customer_id: UUID) -> dict[str, Any]:
    params = scope.parameters()
    params[_CUSTOMER] = customer_id
    return params


async def services_revision(db: Database, scope: TenantScope, customer_id: UUID) -> int | None:
    """The customer's services revision; None if ``scope`` does not see the customer."""
    answer = await db.fetch(SERVICES_REVISION, _parameters(scope, customer_id))
    return answer[0][0] if answer else None


async def read_services(
    db: Database, scope: TenantScope, customer_id: UUID
) -> tuple[int, list[ServiceState]] | None:
    """The customer's services revision and services as the database has them now,
    ordered by jobType, then jobModule; None if ``scope`` does not see the customer."""
    rows = await db.fetch(SERVICES, _parameters(scope, customer_id))
    if not rows:
        return None
    revision: int = rows[0][0]
    return revision, [ServiceState(*row[1:]) for row in rows if row[1] is not None]
