"""Summaries and days: totals and per-customer figures over a window, and per-day outcomes.

>>> # found = await summarize(connection, scope, customer_ids=(), start=a, end=b,
>>> #                         now=now, stale_after=timedelta(hours=36))
>>> # days = await daily(connection, scope, DayFilters(), days=[...], zone=ZoneInfo("Asia/Tokyo"),
>>> #                    position=None, limit=100)

Both read ``job_outcomes`` (jobs per service, quarter-hour and status, kept by ingestion:
:mod:`.outcomes`) and the services' rows, never the history: their cost grows with the
customers and days they answer for. A window is counted in whole quarter-hours (its start
rounded down, its end up: :func:`quarter_window`); a day in a time zone is the
quarter-hours that start on it, which is the day exactly in every zone whose offset is a
whole number of quarter-hours (all in use today; some offsets before 1980 were not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model.health import (
    CUSTOMER_SEVERITY,
    FAILED_STATUSES,
    CustomerJobStatus,
    customer_job_status,
    is_stale,
)
from backupjobs.store.history import matching
from backupjobs.store.outcomes import quarter_of, quarter_start
from backupjobs.store.schema import LATEST, backup_services, customers, job_outcomes
from backupjobs.store.scope import TenantScope

FINISHED = 2
#: Statuses of a completed job: the denominator of a success rate.
COMPLETED_STATUSES = frozenset({2, 3, 4, 7})


def quarter_window(start: datetime, end: datetime) -> tuple[int, int]:
    """The quarter-hours ``[first, past_last)`` that cover ``[start, end)``."""
    last = quarter_of(end)
    return quarter_of(start), last if quarter_start(last) == end else last + 1


def success_rate(by_status: dict[int, int]) -> float | None:
    """Finished jobs over completed ones (None when none completed)."""
    completed = sum(n for status, n in by_status.items() if status in COMPLETED_STATUSES)
    return by_status.get(FINISHED, 0) / completed if completed else None


@dataclass(slots=True)
class Figures:
    """Jobs by status, bytes and seconds, over some span."""

    by_status: dict[int, int] = field(default_factory=dict)
    backup_size_bytes: int = 0
    duration_seconds: int = 0

    @property
    def jobs(self) -> int:
        return sum(self.by_status.values())

    def add(self, status: int, jobs: int, size: int, seconds: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + jobs
        self.backup_size_bytes += size
        self.duration_seconds += seconds


@dataclass(slots=True)
class CustomerSummary:
    """One customer's figures (SPEC §10.3): its window's jobs, its services' state now."""

    customer_id: UUID
    name: str
    job_status: CustomerJobStatus
    window: Figures
    services: int
    failing_services: int
    stale_services: int
    #: The sum of each service's latest job's size.
    backup_size_bytes: int
    last_success_time: datetime | None

    def order_key(self) -> tuple[int, str, UUID]:
        """Worst first, then name and id (SPEC §10.3)."""
        return (CUSTOMER_SEVERITY[self.job_status], self.name, self.customer_id)


@dataclass(slots=True)
class Summary:
    start: datetime
    end: datetime
    #: Every customer matched, worst first.
    customers: list[CustomerSummary]

    def totals(self) -> tuple[Figures, int, int, int, int]:
        """The window's figures over every customer, and the services, failing ones,
        stale ones and latest jobs' bytes."""
        figures = Figures()
        for customer in self.customers:
            for status, jobs in customer.window.by_status.items():
                figures.add(status, jobs, 0, 0)
        return (
            figures,
            sum(c.services for c in self.customers),
            sum(c.failing_services for c in self.customers),
            sum(c.stale_services for c in self.customers),
            sum(c.backup_size_bytes for c in self.customers),
        )


async def summarize(
    connection: AsyncConnection,
    scope: TenantScope,
    *,
    customer_ids: Sequence[UUID],
    start: datetime,
    end: datetime,
    now: datetime,
    stale_after: timedelta,
) -> Summary:
    """Every visible customer (or those of ``customer_ids``) with its figures over the
    quarter-hours covering ``[start, end)``, worst first."""
    first, past_last = quarter_window(start, end)
    service = backup_services.c
    visible = scope.conditions.allows(customers.c.partner_id, customers.c.id)
    rows = await connection.execute(
        select(
            customers.c.id,
            customers.c.name,
            service.customer_id,
            service.enabled_at,
            service[LATEST + "status"],
            service[LATEST + "last_modify_time"],
            service[LATEST + "backup_size_bytes"],
            service.last_success_time,
        )
        .select_from(
            customers.outerjoin(
                backup_services,
                and_(
                    service.partner_id == customers.c.partner_id,
                    service.customer_id == customers.c.id,
                    service.disabled_at.is_(None),
                ),
            )
        )
        .where(visible, matching(customers.c.id, customer_ids))
    )
    found: dict[UUID, CustomerSummary] = {}
    states: dict[UUID, list[tuple[int | None, datetime | None]]] = {}
    for customer_id, name, has_service, enabled, status, modified, size, success in rows:
        entry = found.get(customer_id)
        if entry is None:
            entry = found[customer_id] = CustomerSummary(
                customer_id, name, CustomerJobStatus.NOT_AVAILABLE, Figures(), 0, 0, 0, 0, None
            )
            states[customer_id] = []
        if has_service is None:
            continue
        states[customer_id].append((status, modified))
        entry.services += 1
        entry.failing_services += status in FAILED_STATUSES
        entry.stale_services += is_stale(
            status, last_success=success, since=enabled, now=now, stale_after=stale_after
        )
        entry.backup_size_bytes += size or 0
        if success is not None and (
            entry.last_success_time is None or success > entry.last_success_time
        ):
            entry.last_success_time = success
    for customer_id, entry in found.items():
        entry.job_status = customer_job_status(
            states[customer_id], now=now, stale_after=stale_after
        )
    outcome = job_outcomes.c
    counted = await connection.execute(
        select(
            outcome.customer_id,
            outcome.status,
            func.sum(outcome.jobs),
            func.sum(outcome.backup_size_bytes),
            func.sum(outcome.duration_seconds),
        )
        .where(
            scope.conditions.allows(outcome.partner_id, outcome.customer_id),
            matching(outcome.customer_id, customer_ids),
            outcome.quarter >= first,
            outcome.quarter < past_last,
        )
        .group_by(outcome.customer_id, outcome.status)
    )
    for customer_id, status, jobs, size, seconds in counted:
        if customer_id in found:
            found[customer_id].window.add(status, int(jobs), int(size), int(seconds))
    ordered = sorted(found.values(), key=CustomerSummary.order_key)
    return Summary(quarter_start(first), quarter_start(past_last), ordered)


@dataclass(frozen=True, slots=True)
class DayFilters:
    customer_ids: tuple[UUID, ...] = ()
    job_types: tuple[int, ...] = ()
    job_modules: tuple[int, ...] = ()


@dataclass(slots=True)
class Day:
    """One customer's outcomes on one calendar day."""

    customer_id: UUID
    day: date
    figures: Figures


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight (or the day's first moment) of ``day`` in ``zone``."""
    return datetime.combine(day, time(0), tzinfo=zone)


async def daily(
    connection: AsyncConnection,
    scope: TenantScope,
    filters: DayFilters,
    *,
    days: Sequence[date],
    zone: ZoneInfo,
    position: Sequence[Any] | None,
    limit: int,
) -> tuple[list[Day], list[Any] | None]:
    """One entry per visible customer (by id) and day of ``days`` (consecutive, in
    order), after ``position`` (a ``(customer_id, date)``); and the next position."""
    if not days:
        return [], None
    after_customer: UUID | None = position[0] if position else None
    after_day: date | None = position[1] if position else None
    statement = (
        select(customers.c.id)
        .where(
            scope.conditions.allows(customers.c.partner_id, customers.c.id),
            matching(customers.c.id, filters.customer_ids),
        )
        .order_by(customers.c.id)
        .limit(limit // len(days) + 2)
    )
    if after_customer is not None:
        statement = statement.where(customers.c.id >= after_customer)
    entries: list[Day] = []
    for (customer_id,) in await connection.execute(statement):
        for day in days:
            if customer_id == after_customer and after_day is not None and day <= after_day:
                continue
            entries.append(Day(customer_id, day, Figures()))
    page, more = entries[:limit], len(entries) > limit
    if not page:
        return [], None
    first = quarter_of(day_start(days[0], zone))
    past_last = quarter_of(day_start(days[-1] + timedelta(days=1), zone))
    by_key = {(entry.customer_id, entry.day): entry for entry in page}
    outcome = job_outcomes.c
    counted = await connection.execute(
        select(
            outcome.customer_id,
            outcome.quarter,
            outcome.status,
            func.sum(outcome.jobs),
            func.sum(outcome.backup_size_bytes),
            func.sum(outcome.duration_seconds),
        )
        .where(
            scope.conditions.allows(outcome.partner_id, outcome.customer_id),
            matching(outcome.customer_id, {entry.customer_id for entry in page}),
            matching(outcome.job_type, filters.job_types),
            matching(outcome.job_module, filters.job_modules),
            outcome.quarter >= first,
            outcome.quarter < past_last,
        )
        .group_by(outcome.customer_id, outcome.quarter, outcome.status)
    )
    for customer_id, quarter, status, jobs, size, seconds in counted:
        entry = by_key.get((customer_id, quarter_start(quarter).astimezone(zone).date()))
        if entry is not None:
            entry.figures.add(status, int(jobs), int(size), int(seconds))
    last = page[-1]
    return page, [last.customer_id, last.day] if more else None
