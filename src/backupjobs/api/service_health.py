"""The attention list (SPEC §10.2): ``GET /api/v1/services``, every service's health.

Read from the services' rows alone (:mod:`backupjobs.store.service_health`), worst
first. The first page's time is carried in the cursor, so that every page of one list
judges staleness at the same moment and no service moves between pages by the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from backupjobs.api import reportparams
from backupjobs.api.context import AppContext
from backupjobs.api.history import READ
from backupjobs.api.listing import Cursor, ItemPage, Limit
from backupjobs.api.problems import problem_responses
from backupjobs.api.reportparams import ReportFilters
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.tokens import Principal
from backupjobs.infra.cursors import binding
from backupjobs.model.health import Health, service_health
from backupjobs.store.service_health import services_page
from backupjobs.wire.v1 import V1Service, v1_service

#: The attention list's filters (SPEC §10.2).
SERVICE_FILTERS = reportparams.report_filters(
    "customerId", "jobType", "jobModule", "health", "staleAfter"
)


def row_health(
    values: Mapping[str, Any], *, now: datetime, stale_after: timedelta
) -> tuple[Health, bool]:
    """``(health, stale)`` at ``now`` of a service as :func:`services_page` reads it."""
    return service_health(
        values["latest_status"],
        last_success=values["last_success_time"],
        since=values["enabled_at"],
        now=now,
        stale_after=stale_after,
    )


@get(
    "/api/v1/services",
    guards=[requires(*READ)],
    dependencies={"filters": SERVICE_FILTERS},
    security=SECURITY,
    responses={
        200: ResponseSpec(
            data_container=ItemPage[V1Service],
            description="A page of backup services, worst first.",
        ),
        **problem_responses(400, 401, 403, 404, 429),
    },
    summary="Every backup service with its health (what needs attention)",
    description=(
        "Every backup service in use of the visible customers: its health (failing, "
        "stale, warning, waiting, running, never_run, healthy: the worst that applies), "
        "whether it is stale (no successful job within `staleAfter`; a failing service "
        "can be stale too), its latest job, last success, failures in a row and its open "
        "alert incident (`openIncidentId`, null when none is open). Ordered "
        "worst first, then customer name, job type and module; cursor paged."
    ),
    tags=["reports"],
)
async def list_services(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    filters: NamedDependency[ReportFilters],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[V1Service]]:
    scope = principal.tenant_scope
    stale_after = filters.stale_after
    bound = binding(
        "services",
        reportparams.bound(
            {
                "app": principal.client_id,
                "customerId": [str(c) for c in filters.customer_ids],
                "jobType": list(filters.job_types),
                "jobModule": list(filters.job_modules),
                "health": [h.value for h in filters.healths],
                "staleAfter": stale_after,
            }
        ),
    )
    found = context.cursors.position(
        cursor, binding=bound, type=tuple[datetime, int, str, UUID, int, int]
    )
    now = found[0] if found else datetime.now(UTC)
    async with context.db.read() as connection:
        rows, position = await services_page(
            connection,
            scope,
            filters.services(),
            found[1:] if found else None,
            now=now,
            stale_after=stale_after,
            limit=limit,
        )
    items = []
    for row in rows:
        values = row._mapping
        state, stale = row_health(values, now=now, stale_after=stale_after)
        items.append(v1_service(values, health=state.value, stale=stale, now=datetime.now(UTC)))
    next_position = [now, *position] if position else None
    return context.cursors.answer(request, items, next_position, binding=bound)


ROUTES = [list_services]
