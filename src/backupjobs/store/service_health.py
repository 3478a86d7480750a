"""Every backup service of the visible customers with its health, worst first.

>>> # rows, next_position = await services_page(connection, scope, ServiceFilters(),
>>> #     None, now=now, stale_after=timedelta(hours=36), limit=100)

Read from ``backup_services`` alone (the latest job, the last success and failures in a
row that ingestion keeps there), the customers' names and the services' open incidents
(``alert_incidents``, by their partial unique index): never the history. The health
is the rule of :func:`backupjobs.model.health.service_health`, written here as SQL
(:func:`health_rank`) so that the database orders and filters by it; the two are checked
against each other in the tests. Disabled services are left out, as in the job pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model.health import (
    FAILED_STATUSES,
    SEVERITY,
    WAIT_FOR_CONFIGURATION,
    Health,
)
from backupjobs.store.history import matching
from backupjobs.store.keyset import SortKey, read_page
from backupjobs.store.schema import (
    LATEST,
    UtcDateTime,
    alert_incidents,
    backup_services,
    customers,
)
from backupjobs.store.scope import TenantScope

_RUNNING = 1
_WARNING = 4


@dataclass(frozen=True, slots=True)
class ServiceFilters:
    """The attention list's filters (SPEC §10.2); empty tuples filter nothing."""

    customer_ids: tuple[UUID, ...] = ()
    job_types: tuple[int, ...] = ()
    job_modules: tuple[int, ...] = ()
    healths: tuple[Health, ...] = ()


def stale_condition(*, now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    """A service that has run has had no successful job within ``stale_after``
    (:func:`backupjobs.model.health.is_stale`)."""
    ran, since = stale_since()
    return and_(ran, since < literal(now - stale_after, UtcDateTime()))


def stale_since() -> tuple[ColumnElement[bool], ColumnElement[datetime]]:
    """Whether a service has run, and when it last succeeded (or, never, was first seen):
    one that ran is stale when that is before ``now`` less ``staleAfter``."""
    service = backup_services.c
    since = func.coalesce(service.last_success_time, service.enabled_at)
    return service[LATEST + "status"].is_not(None), since


def health_rank(*, now: datetime, stale_after: timedelta) -> ColumnElement[int]:
    """A service's health as its place in :data:`~backupjobs.model.health.HEALTH_ORDER`."""
    status = backup_services.c[LATEST + "status"]
    return case(
        (status.is_(None), SEVERITY[Health.NEVER_RUN]),
        (status.in_(sorted(FAILED_STATUSES)), SEVERITY[Health.FAILING]),
        (stale_condition(now=now, stale_after=stale_after), SEVERITY[Health.STALE]),
        (status == _WARNING, SEVERITY[Health.WARNING]),
        (status == WAIT_FOR_CONFIGURATION, SEVERITY[Health.WAITING]),
        (status == _RUNNING, SEVERITY[Health.RUNNING]),
        else_=SEVERITY[Health.HEALTHY],
    )


def services_statement(
    scope: TenantScope, filters: ServiceFilters, *, now: datetime, stale_after: timedelta
) -> Select[Any]:
    """The visible services in use matching ``filters``: every ``backup_services``
    column, ``customer_name``, ``health_rank`` and ``open_incident_id`` (the service's
    open incident, SPEC §10.5, or None: at most one, by ``ix_alert_incidents_open``)."""
    rank = health_rank(now=now, stale_after=stale_after)
    service = backup_services.c
    incident = alert_incidents.c
    return (
        select(
            *backup_services.c,
            customers.c.name.label("customer_name"),
            rank.label("health_rank"),
            incident.id.label("open_incident_id"),
        )
        .select_from(
            backup_services.join(
                customers,
                and_(
                    customers.c.partner_id == service.partner_id,
                    customers.c.id == service.customer_id,
                ),
            ).outerjoin(
                alert_incidents,
                and_(
                    incident.partner_id == service.partner_id,
                    incident.customer_id == service.customer_id,
                    incident.job_type == service.job_type,
                    incident.job_module == service.job_module,
                    incident.closed_at.is_(None),
                ),
            )
        )
        .where(
            scope.conditions.allows(service.partner_id, service.customer_id),
            service.disabled_at.is_(None),
            matching(service.customer_id, filters.customer_ids),
            matching(service.job_type, filters.job_types),
            matching(service.job_module, filters.job_modules),
            matching(rank, [SEVERITY[health] for health in filters.healths]),
        )
    )


def services_order(*, now: datetime, stale_after: timedelta) -> tuple[SortKey, ...]:
    """Worst first, then customer name, type, module (and customer id between equal
    names)."""
    return (
        SortKey(health_rank(now=now, stale_after=stale_after), "health_rank"),
        SortKey(customers.c.name, "customer_name"),
        SortKey(backup_services.c.customer_id, "customer_id"),
        SortKey(backup_services.c.job_type, "job_type"),
        SortKey(backup_services.c.job_module, "job_module"),
    )


async def services_page(
    connection: AsyncConnection,
    scope: TenantScope,
    filters: ServiceFilters,
    position: Sequence[Any] | None,
    *,
    now: datetime,
    stale_after: timedelta,
    limit: int,
) -> tuple[Sequence[Any], list[Any] | None]:
    """A page of the attention list after ``position``, and the next page's position.
    Every page of one list must be read with the same ``now``: health depends on it."""
    return await read_page(
        connection,
        services_statement(scope, filters, now=now, stale_after=stale_after),
        services_order(now=now, stale_after=stale_after),
        position,
        limit=limit,
    )
