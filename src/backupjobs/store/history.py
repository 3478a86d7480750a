"""The history: every job of the visible customers, filtered, newest first, by keyset.

>>> # filters = JobFilters(statuses=(3, 7), started_from=since)
>>> # rows, next_position = await history_page(connection, scope, filters, None, limit=100)
>>> # async for rows in stream_history(connection, scope, filters): ...      # an export

One path for every reader (the ``/api/v1/jobs`` list, its export, the OData feed, the
dashboard): :func:`history_statement` applies the tenant scope and the filters, and
:data:`HISTORY_ORDER` is its order, served by the index ``ix_jobs_history`` (partner,
sort time, jobId), so that a page's cost does not grow with its depth. The rows hold the
``jobs`` columns and ``customer_name`` (what :func:`backupjobs.wire.v1.v1_job` reads).

:func:`matching` is the one filter rule of the reports (a column equal to one of the
values; no values, no condition); :func:`unknown_customers` tells which of the ids a
filter names the app may not see, so that the caller answers them like nonexistent ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.keyset import SortKey, read_page
from backupjobs.store.schema import JOB_FIELDS, JOB_SORT_TIME, SERVICE_KEY, customers, jobs
from backupjobs.store.scope import TenantScope

#: Newest first by sort time (SPEC §4), ties by jobId descending.
HISTORY_ORDER = (
    SortKey(JOB_SORT_TIME, "sort_time", descending=True),
    SortKey(jobs.c.job_id, "job_id", descending=True),
)
#: Rows an export reads per round trip.
STREAM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class JobFilters:
    """The history's filters (SPEC §10.1); empty tuples and None filter nothing.
    ``started_from`` and ``started_to``: a half-open window on the sort time."""

    customer_ids: tuple[UUID, ...] = ()
    job_types: tuple[int, ...] = ()
    job_modules: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()
    started_from: datetime | None = None
    started_to: datetime | None = None
    name_contains: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [
            matching(jobs.c.customer_id, self.customer_ids),
            matching(jobs.c.job_type, self.job_types),
            matching(jobs.c.job_module, self.job_modules),
            matching(jobs.c.status, self.statuses),
        ]
        if self.started_from is not None:
            found.append(self.started_from <= JOB_SORT_TIME)
        if self.started_to is not None:
            found.append(self.started_to > JOB_SORT_TIME)
        if self.name_contains:
            found.append(
                func.lower(jobs.c.name).contains(self.name_contains.lower(), autoescape=True)
            )
        return found


def matching(column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values``; true when there are none (no filter)."""
    if not values:
        return true()
    return column.in_(sorted(values))


async def unknown_customers(
    connection: AsyncConnection, scope: TenantScope, customer_ids: Collection[UUID]
) -> list[UUID]:
    """Those of ``customer_ids`` that the app may not see (or that do not exist)."""
    if not customer_ids:
        return []
    visible = set(
        (
            await connection.execute(
                select(customers.c.id).where(
                    scope.conditions.allows(customers.c.partner_id, customers.c.id),
                    customers.c.id.in_(sorted(customer_ids)),
                )
            )
        ).scalars()
    )
    return [customer_id for customer_id in customer_ids if customer_id not in visible]


#: What a job record is rendered from: a job's columns and its customer's name.
RECORD_COLUMNS = (
    *(jobs.c[name] for name in (*SERVICE_KEY, *JOB_FIELDS)),
    customers.c.name.label("customer_name"),
)


def history_statement(scope: TenantScope, filters: JobFilters) -> Select[Any]:
    """The visible jobs matching ``filters``, unordered: :data:`RECORD_COLUMNS` and
    ``sort_time`` (a page's position)."""
    return (
        select(*RECORD_COLUMNS, JOB_SORT_TIME.label("sort_time"))
        .select_from(
            jobs.join(
                customers,
                and_(
                    customers.c.partner_id == jobs.c.partner_id,
                    customers.c.id == jobs.c.customer_id,
                ),
            )
        )
        .where(
            scope.conditions.allows(jobs.c.partner_id, jobs.c.customer_id), *filters.conditions()
        )
    )


async def history_page(
    connection: AsyncConnection,
    scope: TenantScope,
    filters: JobFilters,
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> tuple[Sequence[Any], list[Any] | None]:
    """A page of the history after ``position`` (a ``(sort_time, job_id)``), and the
    next page's position (None: the last page)."""
    return await read_page(
        connection, history_statement(scope, filters), HISTORY_ORDER, position, limit=limit
    )


async def stream_history(
    connection: AsyncConnection, scope: TenantScope, filters: JobFilters
) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
    """The whole history matching ``filters`` in :data:`HISTORY_ORDER`, in batches of rows
    (mappings of :data:`RECORD_COLUMNS` by name), read by one statement (one consistent
    snapshot) as it is consumed, so that memory does not grow with the history."""
    # No sort_time: a fourth time to decode a row (0.75 us of the driver's ~4 us) that
    # only a page's position needs.
    statement = (
        history_statement(scope, filters)
        .with_only_columns(*RECORD_COLUMNS)
        .order_by(*(key.ordering() for key in HISTORY_ORDER))
    )
    if connection.dialect.name == "postgresql":
        batches = _driver_batches(connection, statement)
    else:
        batches = _engine_batches(connection, statement)
    try:
        async for batch in batches:
            yield batch
    finally:
        await batches.aclose()


async def _engine_batches(
    connection: AsyncConnection, statement: Select[Any]
) -> AsyncGenerator[Sequence[Mapping[str, Any]], None]:
    result = await connection.stream(statement.execution_options(yield_per=STREAM_BATCH))
    try:
        async for batch in result.partitions(STREAM_BATCH):
            yield [row._mapping for row in batch]
    finally:
        await result.close()


async def _driver_batches(
    connection: AsyncConnection, statement: Select[Any]
) -> AsyncGenerator[Sequence[Mapping[str, Any]], None]:
    """A server-side cursor of asyncpg itself, the next batch asked for while the caller
    works on this one: SQLAlchemy's rows (a Row and a result processor per value) cost
    CPU that the export's encoding needs, and a batch waited for left PostgreSQL idle
    while the process encoded (docs/scaling.md, "The history's deep pages and the export").

    The history's parameters are values asyncpg takes as they are (UUIDs, integers,
    strings, aware datetimes), so they go without SQLAlchemy's bind processing; its
    ``timestamptz`` come back aware in UTC, as ``UtcDateTime`` gives them."""
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    values = compiled.construct_params()
    arguments = [values[name] for name in compiled.positiontup or ()]
    driver: Any = (await connection.get_raw_connection()).driver_connection
    async with driver.transaction(isolation="repeatable_read", readonly=True):
        cursor = await driver.cursor(str(compiled), *arguments)
        following = asyncio.ensure_future(cursor.fetch(STREAM_BATCH))
        try:
            while batch := await following:
                following = asyncio.ensure_future(cursor.fetch(STREAM_BATCH))
                yield batch
        finally:
            # A caller that stops early: the fetch in flight ends (one batch) before the
            # transaction's rollback closes the cursor; the driver allows one at a time.
            await asyncio.gather(following, return_exceptions=True)
