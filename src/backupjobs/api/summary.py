"""Summaries (SPEC §10.3): ``GET /api/v1/summary`` and ``GET /api/v1/daily``.

Both answer from the outcomes ingestion keeps per quarter-hour
(:mod:`backupjobs.store.summary`): their cost grows with the customers and days asked
for, never with the history stored. A window is counted in whole quarter-hours, and the
answer says which (``from``, ``to``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
from backupjobs.catalog import CUSTOMER_JOB_STATUSES
from backupjobs.infra.cursors import binding
from backupjobs.store.keyset import page_of
from backupjobs.store.summary import (
    CustomerSummary,
    Figures,
    Summary,
    customers_now,
    daily,
    success_rate,
    window_figures,
)
from backupjobs.wire.v1 import (
    V1CustomerSummary,
    V1Day,
    V1Summary,
    V1Totals,
    by_status_names,
    format_instant,
    optional_instant,
)

#: The summary's filters and the daily report's (SPEC §10.3).
SUMMARY_FILTERS = reportparams.report_filters("customerId", "from", "to", "tz", "staleAfter")
DAILY_FILTERS = reportparams.report_filters(
    "customerId", "jobType", "jobModule", "from", "to", "tz"
)


def _customer(entry: CustomerSummary) -> V1CustomerSummary:
    return V1CustomerSummary(
        customerId=entry.customer_id,
        customerName=entry.name,
        jobStatus=int(entry.job_status),
        jobStatusName=CUSTOMER_JOB_STATUSES.require(int(entry.job_status)).display,
        jobs=entry.window.jobs,
        byStatus=by_status_names(entry.window.by_status),
        successRate=success_rate(entry.window.by_status),
        lastSuccessTime=optional_instant(entry.last_success_time),
        failingServices=entry.failing_services,
        staleServices=entry.stale_services,
        backupSizeBytes=entry.backup_size_bytes,
    )


@get(
    "/api/v1/summary",
    guards=[requires(*READ)],
    dependencies={"filters": SUMMARY_FILTERS},
    security=SECURITY,
    responses={
        200: ResponseSpec(
            data_container=V1Summary,
            description="Totals, and the customers worst first (a page of them).",
        ),
        **problem_responses(400, 401, 403, 404, 429),
    },
    summary="Totals and per-customer figures over a window",
    description=(
        "Jobs by status and the success rate (finished over completed: statuses 2, 3, 4 "
        "and 7) in the window, per customer and in total, with each customer's jobStatus, "
        "last success, failing and stale services and the size of its services' latest "
        "jobs now. Customers worst first (jobStatus 4, 2, 6, 5, 3, 1, 0), then name and "
        "id; cursor paged (totals on every page). The window is counted in whole "
        "quarter-hours (its start rounded down, its end up), as `from` and `to` say."
    ),
    tags=["reports"],
)
async def get_summary(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    filters: NamedDependency[ReportFilters],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[V1Summary]:
    scope = principal.tenant_scope
    now = datetime.now(UTC)
    start, end = reportparams.window(filters.start, filters.end, now=now, names=("from", "to"))
    ids = filters.customer_ids
    stale_after = filters.stale_after
    # The window as asked (a default one moves with the clock: every page keeps it).
    bound = binding(
        "summary",
        reportparams.bound(
            {
                "app": principal.client_id,
                "customerId": [str(c) for c in ids],
                "from": filters.start,
                "to": filters.end,
                "tz": filters.zone.key,
                "staleAfter": stale_after,
            }
        ),
    )
    position = context.cursors.position(cursor, binding=bound, type=tuple[int, str, UUID])
    async with context.db.read() as connection:
        every = await customers_now(
            connection, scope, customer_ids=ids, now=now, stale_after=stale_after
        )
        page, next_position = page_of(every, CustomerSummary.order_key, position, limit=limit)
        window = await window_figures(
            connection,
            scope,
            customer_ids=ids,
            start=start,
            end=end,
            of=[entry.customer_id for entry in page],
        )
    for entry in page:
        entry.window = window.customers.get(entry.customer_id, entry.window)
    found = Summary(window.start, window.end, every, window.totals)
    figures, services, failing, stale, size = found.totals()
    answer = V1Summary(
        from_=format_instant(found.start),
        to=format_instant(found.end),
        totals=V1Totals(
            customers=len(found.customers),
            services=services,
            jobs=figures.jobs,
            byStatus=by_status_names(figures.by_status),
            successRate=success_rate(figures.by_status),
            failingServices=failing,
            staleServices=stale,
            backupSizeBytes=size,
        ),
        customers=[_customer(entry) for entry in page],
    )
    if next_position is None:
        return Response(answer)
    answer.nextCursor = context.cursors.codec.encode(next_position, binding=bound)
    link = context.cursors.next_url(request, answer.nextCursor)
    return Response(answer, headers={"Link": f'<{link}>; rel="next"'})


def _days(start: datetime, end: datetime, zone: Any) -> list[date]:
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _day(entry_day: date, customer_id: UUID, figures: Figures) -> V1Day:
    return V1Day(
        date=entry_day.isoformat(),
        customerId=customer_id,
        byStatus=by_status_names(figures.by_status),
        jobs=figures.jobs,
        backupSizeBytes=figures.backup_size_bytes,
        durationSeconds=figures.duration_seconds,
    )


@get(
    "/api/v1/daily",
    guards=[requires(*READ)],
    dependencies={"filters": DAILY_FILTERS},
    security=SECURITY,
    responses={
        200: ResponseSpec(
            data_container=ItemPage[V1Day],
            description="One entry per customer and day, by customer id, then date.",
        ),
        **problem_responses(400, 401, 403, 404, 429),
    },
    summary="Outcomes per customer and calendar day",
    description=(
        "For a customer-by-day heatmap and the outcome and size charts: each visible "
        "customer's jobs by status, bytes and seconds on each calendar day in `tz` (an IANA "
        "name, default UTC) from the day of `from` to the day before `to` (default: the "
        "last 7 days, today included). Days without jobs are listed with zeros."
    ),
    tags=["reports"],
)
async def get_daily(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    filters: NamedDependency[ReportFilters],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[V1Day]]:
    scope = principal.tenant_scope
    zone = filters.zone
    now = datetime.now(UTC)
    today_ends = reportparams.instant(
        "to", (now.astimezone(zone).date() + timedelta(days=1)).isoformat(), zone
    )
    start, end = reportparams.window(
        filters.start, filters.end or today_ends, now=now, names=("from", "to")
    )
    bound = binding(
        "daily",
        {
            "app": principal.client_id,
            "customerId": [str(c) for c in filters.customer_ids],
            "jobType": list(filters.job_types),
            "jobModule": list(filters.job_modules),
            "from": start,
            "to": end,
            "tz": zone.key,
        },
    )
    position = context.cursors.position(cursor, binding=bound, type=tuple[UUID, date])
    async with context.db.read() as connection:
        entries, next_position = await daily(
            connection,
            scope,
            filters.days(),
            days=_days(start, end, zone),
            zone=zone,
            position=position,
            limit=limit,
        )
    items = [_day(entry.day, entry.customer_id, entry.figures) for entry in entries]
    return context.cursors.answer(request, items, next_position, binding=bound)


ROUTES = [get_summary, get_daily]
