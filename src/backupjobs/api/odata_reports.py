"""The history feed's report sets: ``Customers`` (each with its health) and ``DailyOutcomes``.

>>> # GET /api/v1/odata/Customers?$filter=jobStatus eq 2&$select=customerId,customerName
>>> # GET /api/v1/odata/DailyOutcomes?tz=Europe/Berlin
>>> #     &$filter=date ge 2026-11-01 and date lt 2026-12-01

Their rows are what the reports answer, read through the reports' store functions
(:func:`backupjobs.store.summary.summarize` for a customer's jobStatus, services, failing
and stale ones, latest jobs' bytes and last success, as ``/api/v1/summary`` gives them;
:func:`backupjobs.store.summary.daily` for a customer's jobs by status, bytes and seconds
on each calendar day, as ``/api/v1/daily``), so that a report built on the feed and the
JSON reports agree. They are computed rather than stored, so ``$filter``
(:func:`.odata_filter.to_predicate`) tests the rows as they are read; ``DailyOutcomes``
reads only the days and the customer that the filter's ``and`` terms bound
(:func:`.odata_filter.bounds`), as incremental refresh asks.

Both are in key order (``customerId``; ``customerId`` then ``date``) and page by a signed
``$skiptoken`` holding the last row's key and the moment (``Customers``: health is judged
at the first page's time) or days (``DailyOutcomes``: the window of the first page) of the
whole read, bound to the app, the filter and the parameters. Days are calendar days in the
custom query option ``tz`` (an IANA name; UTC when absent), which ``$metadata`` states.

This module reads the rows and serves the routes; the sets as ``$metadata`` declares them
are :mod:`.odata_report_sets`, a page of computed rows (options, ``$skiptoken``, next
link) is :mod:`.odata_report_pages`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.di import NamedDependency

from backupjobs.api import odata, reportparams
from backupjobs.api.context import AppContext
from backupjobs.api.odata_filter import Node, bounds
from backupjobs.api.odata_report_pages import (
    SKIPTOKEN,
    Row,
    answer_page,
    custom_option,
    read_query,
    set_route,
    skiptoken_of,
)
from backupjobs.api.odata_report_sets import (
    CUSTOMERS,
    DAILY_OUTCOMES,
    FILTER,
    STATUS_PROPERTIES,
)
from backupjobs.api.problems import ProblemError
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import CUSTOMER_JOB_STATUSES
from backupjobs.infra.cursors import binding
from backupjobs.store.summary import DayFilters, customers_now, daily

#: The custom query options: the days' time zone, the stale threshold.
TZ, STALE_AFTER = "tz", "staleAfter"
#: Rows read from the store at a time while filtering, counting or skipping.
_BATCH = odata.MAX_PAGE_SIZE


# --- the rows ----------------------------------------------------------------------------


async def _customers(
    context: AppContext,
    principal: Principal,
    now: datetime,
    stale_after: timedelta,
    customer_ids: frozenset[UUID] | None,
) -> AsyncIterator[Row]:
    """Every visible customer's row (of ``customer_ids``, if not None), by customerId."""
    if customer_ids is not None and not customer_ids:
        return  # customerId terms that contradict each other
    async with context.db.read() as connection:
        found = await customers_now(
            connection,
            principal.tenant_scope,
            customer_ids=sorted(customer_ids or ()),
            now=now,
            stale_after=stale_after,
        )
    for entry in sorted(found, key=lambda c: c.customer_id):
        yield {
            "customerId": entry.customer_id,
            "customerName": entry.name,
            "jobStatus": int(entry.job_status),
            "jobStatusName": CUSTOMER_JOB_STATUSES.require(int(entry.job_status)).display,
            "services": entry.services,
            "failingServices": entry.failing_services,
            "staleServices": entry.stale_services,
            "backupSizeBytes": entry.backup_size_bytes,
            "lastSuccessTime": entry.last_success_time,
        }


async def _days(
    context: AppContext,
    principal: Principal,
    filters: DayFilters,
    days: list[date],
    zone: ZoneInfo,
    after: tuple[UUID, date] | None,
) -> AsyncIterator[Row]:
    """Every visible customer's row of each of ``days``, by customerId then date, after
    ``after``; read a batch at a time."""
    position: list[Any] | None = list(after) if after else None
    while True:
        async with context.db.read() as connection:
            entries, position = await daily(
                connection,
                principal.tenant_scope,
                filters,
                days=days,
                zone=zone,
                position=position,
                limit=_BATCH,
            )
        for entry in entries:
            by_status = entry.figures.by_status
            yield {
                "customerId": entry.customer_id,
                "date": entry.day,
                "jobs": entry.figures.jobs,
                "backupSizeBytes": entry.figures.backup_size_bytes,
                "durationSeconds": entry.figures.duration_seconds,
                **{name: by_status.get(code, 0) for code, name in STATUS_PROPERTIES.items()},
            }
        if position is None:
            return


def _window(node: Node | None, zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The first and last day read: those the filter bounds, else the last 7 days up to
    today in ``zone`` (as ``/api/v1/daily``)."""
    low, high = (
        (None, None) if node is None else bounds(node, "date", DAILY_OUTCOMES.filterable)[:2]
    )
    past_last: date = high or now.astimezone(zone).date() + timedelta(days=1)
    first: date = low or past_last - reportparams.DEFAULT_WINDOW
    if (past_last - first).days > reportparams.MAX_DAYS:
        raise ProblemError(
            400,
            f"Invalid query option $filter: it spans more than {reportparams.MAX_DAYS} days of "
            "date; bound date with ge and lt (date ge 2026-01-01 and date lt 2026-02-01).",
            target=FILTER,
        )
    return first, past_last - timedelta(days=1)


# --- the routes --------------------------------------------------------------------------


_OPTIONS_TEXT = (
    "`$filter` (eq ne gt ge lt le, and, or, parentheses), `$select`, `$top`, `$skip`, "
    "`$count`; pages of 1000 rows (or `Prefer: odata.maxpagesize`) with `@odata.nextLink` "
    "(a signed `$skiptoken`)."
)


@set_route(
    CUSTOMERS.name,
    summary="The customers and their health as an OData feed (Power BI)",
    description=f"{CUSTOMERS.description} By customerId. {_OPTIONS_TEXT}",
)
async def history_customers(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = read_query(request, CUSTOMERS)
    node = asked.node
    stale_after = reportparams.stale_after(
        custom_option(asked.query, STALE_AFTER), context.settings.stale_after
    )
    bound = binding(
        "odata-customers",
        {
            "app": principal.client_id,
            "filter": asked.given.get(FILTER),
            "staleAfter": str(stale_after),
        },
    )
    token = asked.given.get(SKIPTOKEN)
    after: tuple[Any, ...] | None = None
    if token is None:
        now = datetime.now(UTC)
    else:
        now, customer_id = skiptoken_of(context, token, bound, tuple[datetime, UUID])
        after = (customer_id,)

    customer_ids = None if node is None else bounds(node, "customerId", CUSTOMERS.filterable)[2]

    def rows(_after: Any) -> AsyncIterator[Row]:
        return _customers(context, principal, now, stale_after, customer_ids)

    return await answer_page(
        request, context, CUSTOMERS, rows, asked=asked, bound=bound, fixed=(now,), after=after
    )


@set_route(
    DAILY_OUTCOMES.name,
    summary="Outcomes per customer and calendar day as an OData feed (Power BI)",
    description=f"{DAILY_OUTCOMES.description} By customerId, then date. {_OPTIONS_TEXT}",
)
async def history_daily_outcomes(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = read_query(request, DAILY_OUTCOMES)
    node = asked.node
    zone = reportparams.zone(custom_option(asked.query, TZ))
    customer_ids = (
        None if node is None else bounds(node, "customerId", DAILY_OUTCOMES.filterable)[2]
    )
    bound = binding(
        "odata-daily",
        {"app": principal.client_id, "filter": asked.given.get(FILTER), "tz": zone.key},
    )
    token = asked.given.get(SKIPTOKEN)
    after: tuple[Any, ...] | None = None
    if token is None:
        first, last = _window(node, zone, datetime.now(UTC))
    else:
        first, last, customer_id, day = skiptoken_of(
            context, token, bound, tuple[date, date, UUID, date]
        )
        after = (customer_id, day)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    filters = DayFilters(customer_ids=tuple(sorted(customer_ids or ())))

    async def rows(start: Any) -> AsyncIterator[Row]:
        if not days or (customer_ids is not None and not customer_ids):
            return  # no day, or customerId terms that contradict each other
        async for row in _days(context, principal, filters, days, zone, start):
            yield row

    return await answer_page(
        request, context, DAILY_OUTCOMES, rows, asked=asked, bound=bound, fixed=(first, last),
        after=after,
    )  # fmt: skip


ROUTES = [history_customers, history_daily_outcomes]
