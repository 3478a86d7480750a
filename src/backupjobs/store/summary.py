"""Summaries and days: totals and per-customer figures over a window, and per-day outcomes.

>>> # found = await summarize(connection, scope, customer_ids=(), start=a, end=b,
>>> #                         now=now, stale_after=timedelta(hours=36))
>>> # days = await daily(connection, scope, DayFilters(), days=[...], zone=ZoneInfo("Asia/Tokyo"),
>>> #                    position=None, limit=100)

Both read what ingestion keeps (:mod:`.outcomes`) and the services' rows, never the
history: their cost grows with the customers and days they answer for. A window is
counted in whole quarter-hours (its start rounded down, its end up: :func:`quarter_window`);
a day in a time zone is the quarter-hours that start on it, which is the day exactly in
every zone whose offset is a whole number of quarter-hours (all in use today; some offsets
before 1980 were not).

Spans of quarter-hours (a window, or the consecutive days of a page) are added up by
:func:`_outcomes_in` from whole UTC days of ``customer_days`` (a row per customer and day,
the jobs of each status a column; a span's whole long blocks of 16 days from
``customer_long_blocks``, its other whole blocks of 4 days from ``customer_blocks``)
and, between each span
boundary and the UTC midnight nearest to it (the next one for a boundary not yet past: a
window ending now reads nothing after it), from ``job_outcomes`` (a row per service,
quarter-hour and status; for every customer at once, an index range by time): a UTC
day goes to the span its midnight falls in, and each quarter-hour between a boundary and
that midnight is added to the span it is in and taken from the span its UTC day went to.
In UTC only whole days are read; in Tokyo (+09:00) a local day is a UTC day, plus 9 hours
of the one before, less 9 hours of its own at the end; in New York the nearest midnight
is 5 or 4 hours away. So at most half of each day's quarter-hours are read, and none of
the other days'.
``/daily`` with jobType or jobModule filters reads ``job_outcomes`` alone (the days are
per customer, not per service).

A summary's services' figures (failing, stale, bytes, last success) and jobStatus come
from what each customer's row keeps of its services (:func:`customers_now`; the stale
ones, which depend on the time, are counted from the "since" times it keeps). A page of a
summary (the API's, the dashboard's) reads the window's figures of its own customers
only, and the database adds up the totals (:func:`window_figures`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model.health import (
    CUSTOMER_SEVERITY,
    CustomerJobStatus,
    ServicesSummary,
    summary_job_status,
)
from backupjobs.store.history import matching
from backupjobs.store.outcomes import (
    BLOCK_DAYS,
    DAY_QUARTERS,
    LONG_BLOCK_DAYS,
    quarter_of,
    quarter_start,
)
from backupjobs.store.schema import (
    COUNTED_STATUSES,
    customer_blocks,
    customer_days,
    customer_long_blocks,
    customers,
    job_outcomes,
    microseconds,
)
from backupjobs.store.scope import TenantScope
from backupjobs.store.sums import capped, capped_sum

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
        self.backup_size_bytes = capped(self.backup_size_bytes + size)
        self.duration_seconds = capped(self.duration_seconds + seconds)

    def merge(self, other: Figures) -> None:
        for status, jobs in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + jobs
        self.backup_size_bytes = capped(self.backup_size_bytes + other.backup_size_bytes)
        self.duration_seconds = capped(self.duration_seconds + other.duration_seconds)


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
    #: Every customer matched, worst first (their window's figures: see the functions).
    customers: list[CustomerSummary]
    #: The window's figures over every customer matched (None: theirs, added up when
    #: asked for).
    window: Figures | None

    def totals(self) -> tuple[Figures, int, int, int, int]:
        """The window's figures over every customer, and the services, failing ones,
        stale ones and latest jobs' bytes."""
        if self.window is None:
            self.window = Figures()
            for customer in self.customers:
                self.window.merge(customer.window)
        return (
            self.window,
            sum(c.services for c in self.customers),
            sum(c.failing_services for c in self.customers),
            sum(c.stale_services for c in self.customers),
            capped(sum(c.backup_size_bytes for c in self.customers)),
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
    quarter-hours covering ``[start, end)``, worst first: each customer's row and its
    window's figures read together, a row per customer."""
    first, past_last = quarter_window(start, end)
    found = await _customers(
        connection, scope, customer_ids, now, stale_after, window=[first, past_last]
    )
    return Summary(quarter_start(first), quarter_start(past_last), found, None)


@dataclass(slots=True)
class Window:
    """The figures over the quarter-hours ``[start, end)``."""

    start: datetime
    end: datetime
    #: Over every customer matched (None when each one's was asked for).
    totals: Figures | None
    #: Of the customers asked for, those with jobs.
    customers: dict[UUID, Figures]


async def window_figures(
    connection: AsyncConnection,
    scope: TenantScope,
    *,
    customer_ids: Sequence[UUID],
    start: datetime,
    end: datetime,
    of: Collection[UUID] | None,
) -> Window:
    """The figures of the visible customers (or those of ``customer_ids``) over the
    quarter-hours covering ``[start, end)``: their totals, and each customer's of ``of``
    (None: of every one, and no totals). A page of a summary (the API's, the dashboard's)
    asks for its own customers': the totals are then added up by the database, and only
    the page's figures reach Python."""
    first, past_last = quarter_window(start, end)
    bounds = [first, past_last]
    window = Window(quarter_start(first), quarter_start(past_last), None, {})
    if of is None:
        counted = await _outcomes_in(connection, scope, customer_ids, bounds)
        window.customers = {customer_id: figures for (customer_id, _), figures in counted.items()}
        return window
    totals = await _outcomes_in(connection, scope, customer_ids, bounds, by_customer=False)
    window.totals = totals.get((0,), Figures())
    if of:
        counted = await _outcomes_in(connection, scope, of, bounds)
        window.customers = {customer_id: f for (customer_id, _), f in counted.items()}
    return window


async def customers_now(
    connection: AsyncConnection,
    scope: TenantScope,
    *,
    customer_ids: Sequence[UUID],
    now: datetime,
    stale_after: timedelta,
) -> list[CustomerSummary]:
    """Every visible customer (or those of ``customer_ids``) with its services' figures
    at ``now`` and no window's, worst first: read from the customers' rows, which keep
    them, and the stale services counted."""
    return await _customers(connection, scope, customer_ids, now, stale_after, window=None)


async def _customers(
    connection: AsyncConnection,
    scope: TenantScope,
    customer_ids: Sequence[UUID],
    now: datetime,
    stale_after: timedelta,
    *,
    window: Sequence[int] | None,
) -> list[CustomerSummary]:
    """:func:`customers_now`, and with ``window`` (quarter-hours ``[first, past_last)``)
    each one's figures over it, joined to its row."""
    statement = _customers_statement(
        connection.dialect.name,
        scope,
        tuple(customer_ids),
        None if window is None else tuple(window),
        None if window is None else _midnights(window),
    )
    counted = window is not None
    figures_at = len(_CUSTOMER_COLUMNS)
    # A service is stale when its "since" time is before this (model.health.is_stale).
    stale_before = microseconds(now - stale_after)
    found: list[CustomerSummary] = []
    for row in (await connection.execute(statement)).all():
        customer_id, name, enabled, ran, problems, oldest, failing, size, success, since = row[
            :figures_at
        ]
        found.append(
            CustomerSummary(
                customer_id,
                name,
                summary_job_status(
                    ServicesSummary(enabled, ran, problems, oldest),
                    now=now,
                    stale_after=stale_after,
                ),
                Figures() if not counted or row[figures_at] is None else _figures(row, figures_at),
                enabled,
                failing,
                bisect.bisect_left(since, stale_before),
                size,
                success,
            )
        )
    return sorted(found, key=CustomerSummary.order_key)


#: What :func:`_customers` reads of each customer's row, in order.
_CUSTOMER_COLUMNS = tuple(
    customers.c[name]
    for name in (
        "id",
        "name",
        "services_enabled",
        "services_ran",
        "services_problems",
        "services_oldest_change",
        "services_failing",
        "services_backup_size_bytes",
        "services_last_success",
        "services_since",
    )
)


@functools.lru_cache(maxsize=64)
def _customers_statement(
    dialect: str,
    scope: TenantScope,
    customer_ids: tuple[UUID, ...],
    window: tuple[int, int] | None,
    midnights: tuple[int, ...] | None,
) -> Select[Any]:
    """The statement of :func:`_customers`: :data:`_CUSTOMER_COLUMNS`, and with ``window``
    its figures (:func:`_counted`, with the boundaries' ``midnights``).

    Kept for the next summary of the same customers and window (a dashboard's overview
    polled, a summary asked again within the quarter-hour): building it (a union of four
    selects of 18 columns) and SQLAlchemy's key for its compiled form cost about 5 ms of
    Python's time each time, about a tenth of a summary of every customer (2026-12-04)."""
    kept = customers.c
    statement = select(*_CUSTOMER_COLUMNS).where(
        scope.conditions.allows(kept.partner_id, kept.id), matching(kept.id, customer_ids)
    )
    if window is None or midnights is None:
        return statement
    counted = _counted(dialect, scope, customer_ids, window, midnights=midnights)
    if counted is None:
        return statement
    figures = counted.subquery("window")
    return statement.add_columns(*(figures.c[name] for name in _COUNTED)).outerjoin_from(
        customers, figures, figures.c.customer_id == kept.id
    )


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
    by_key = {(entry.customer_id, entry.day): entry for entry in page}
    counted = await _outcomes_in(
        connection,
        scope,
        {entry.customer_id for entry in page},
        _day_boundaries(days, zone),
        job_types=filters.job_types,
        job_modules=filters.job_modules,
    )
    for (customer_id, span), figures in counted.items():
        entry = by_key.get((customer_id, days[span]))
        if entry is not None:
            entry.figures = figures
    last = page[-1]
    return page, [last.customer_id, last.day] if more else None


def _day_boundaries(days: Sequence[date], zone: ZoneInfo) -> list[int]:
    """The quarter-hours where each of ``days`` (consecutive) starts, and where the last
    ends: a quarter-hour belongs to the day its start is on in ``zone``. (With an offset
    that is not whole quarter-hours, the quarter-hour holding the first midnight goes to the
    day before, and the one holding the last midnight is left out.)"""
    bounds = []
    for day in days:
        midnight = day_start(day, zone)
        quarter = quarter_of(midnight)
        bounds.append(quarter if quarter_start(quarter) >= midnight else quarter + 1)
    bounds.append(quarter_of(day_start(days[-1] + timedelta(days=1), zone)))
    return bounds


def _span_of(column: Any, bounds: Sequence[int]) -> ColumnElement[int]:
    """The span ``i`` with ``bounds[i] <= column < bounds[i + 1]``; -1 outside them all.
    The numbers are written into the statement (our own integers), so that the expression
    in GROUP BY is the one selected (PostgreSQL tells expressions apart by parameter)."""

    def number(value: int) -> ColumnElement[int]:
        return literal_column(str(int(value)), BigInteger())

    whens = [(column < number(bounds[0]), number(-1))]
    whens += [(column < number(bound), number(index)) for index, bound in enumerate(bounds[1:])]
    return case(*whens, else_=number(-1))


def _midnight_for(bound: int) -> int:
    """The UTC midnight whose whole days stand for ``bound``'s side, the quarter-hours
    between them read one by one: the nearest one; the next one if ``bound`` is not past
    yet (a window ending now), since no job starts after now (but a clock's error)."""
    if bound >= quarter_of(datetime.now(UTC)):
        return -(-bound // DAY_QUARTERS) * DAY_QUARTERS
    return (bound + DAY_QUARTERS // 2) // DAY_QUARTERS * DAY_QUARTERS


def _midnights(bounds: Sequence[int]) -> tuple[int, ...]:
    """Each of ``bounds``' UTC midnight (:func:`_midnight_for`)."""
    return tuple(_midnight_for(bound) for bound in bounds)


def _merged(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The non-empty ``[low, high)`` ranges of ``ranges``, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(r for r in ranges if r[0] < r[1]):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


#: Where whole UTC days are read, coarsest first: (table, its unit, UTC days in a unit).
_WHOLE_DAYS = (
    (customer_long_blocks, customer_long_blocks.c.long_block, LONG_BLOCK_DAYS),
    (customer_blocks, customer_blocks.c.block, BLOCK_DAYS),
    (customer_days, customer_days.c.day, 1),
)


def _whole_days(days: Sequence[int]) -> list[list[tuple[int, int]]]:
    """The UTC days of the spans ``[days[i], days[i + 1])`` as ranges of units of each
    table of :data:`_WHOLE_DAYS`: each span's whole long blocks, its whole blocks outside
    them, and its days outside those."""
    found: list[list[tuple[int, int]]] = [[] for _ in _WHOLE_DAYS]

    def cover(low: int, high: int, level: int) -> None:
        size = _WHOLE_DAYS[level][2]
        first, past_last = -(-low // size), high // size
        finer = level + 1 < len(_WHOLE_DAYS)
        if first < past_last:
            found[level].append((first, past_last))
            if finer:
                cover(low, first * size, level + 1)
                cover(past_last * size, high, level + 1)
        elif finer:
            cover(low, high, level + 1)

    for low, high in itertools.pairwise(days):
        cover(low, high, 0)
    return [_merged(ranges) for ranges in found]


async def _outcomes_in(
    connection: AsyncConnection,
    scope: TenantScope,
    customer_ids: Collection[UUID],
    bounds: Sequence[int],
    *,
    job_types: Collection[int] = (),
    job_modules: Collection[int] = (),
    by_customer: bool = True,
) -> dict[tuple[Any, ...], Figures]:
    """The figures of each visible customer (of ``customer_ids``, or all) in each span of
    quarter-hours ``[bounds[i], bounds[i + 1])``, by (customer, i); only those with jobs.
    Not ``by_customer``: those customers' figures added up, by (i,). (:func:`_counted`)"""
    statement = _counted(
        connection.dialect.name,
        scope,
        customer_ids,
        bounds,
        midnights=_midnights(bounds),
        job_types=job_types,
        job_modules=job_modules,
        by_customer=by_customer,
    )
    if statement is None:
        return {}
    width = 2 if by_customer else 1
    return {
        tuple(row[:width]): _figures(row, width)
        for row in (await connection.execute(statement)).all()
    }


def _figures(row: Sequence[Any], at: int) -> Figures:
    """The figures :func:`_counted` sums up (:data:`_COUNTED`), from ``row[at]`` on."""
    statuses_at = at + 1
    size_at = statuses_at + len(COUNTED_STATUSES)
    by_status = row[statuses_at:size_at]
    # The statuses with jobs, picked in C (a row per customer: 2,000 in a summary).
    return Figures(
        dict(itertools.compress(zip(COUNTED_STATUSES, by_status, strict=True), by_status)),
        row[size_at],
        row[size_at + 1],
    )


def _counted(
    dialect: str,
    scope: TenantScope,
    customer_ids: Collection[UUID],
    bounds: Sequence[int],
    *,
    midnights: Sequence[int],
    job_types: Collection[int] = (),
    job_modules: Collection[int] = (),
    by_customer: bool = True,
) -> Select[Any] | None:
    """The statement of :func:`_outcomes_in`: (customer, span) or (span), then the sums of
    :data:`_COUNTED`; a row per key with jobs. None: nothing to read.

    Whole UTC days come from ``customer_days`` (and a span's whole blocks and long blocks
    of days from their tables: :data:`_WHOLE_DAYS`), each to the span its midnight is in
    when each boundary is moved to its UTC midnight of ``midnights`` (:func:`_midnights`,
    which depends on the time: given, so that a statement kept for later is the one it
    would build); the quarter-hours between a boundary and its midnight from
    ``job_outcomes``, each added to its own span and taken from its day's (see the
    module's docstring). With ``job_types`` or ``job_modules``, everything comes from
    ``job_outcomes`` (and ``midnights`` are not used)."""
    by_service = bool(job_types or job_modules)
    #: (customer, span, *_COUNTED) to add up, netted by the database.
    parts: list[Any] = []
    if by_service:
        midnights = bounds
        partial = [(bounds[0], bounds[-1])]
    else:
        partial = [(min(b, m), max(b, m)) for b, m in zip(bounds, midnights, strict=True)]
        days = [m // DAY_QUARTERS for m in midnights]
        for (table, unit, size), ranges_in in zip(_WHOLE_DAYS, _whole_days(days), strict=True):
            if not ranges_in:
                continue
            counts = table.c
            # The scope's rule on the rows' own keys: no customer row to join.
            parts.append(
                select(
                    counts.customer_id,
                    _span_of(unit, [-(-d // size) for d in days]).label("span"),
                    *(counts[name] for name in _COUNTED),
                ).where(
                    scope.conditions.allows(counts.partner_id, counts.customer_id),
                    matching(counts.customer_id, customer_ids),
                    or_(*(and_(unit >= lo, unit < hi) for lo, hi in ranges_in)),
                )
            )
    ranges = _merged(partial)
    if ranges:
        edges = _edges(dialect, scope, customer_ids, ranges, job_types, job_modules).c
        amounts = [edges[name] for name in _COUNTED]
        # Each edge quarter-hour to its own span; taken from the span its UTC day went to
        # (-1: no day was read). The midnights are whole days, so the quarter's own
        # position among them is its day's.
        parts.append(
            select(edges.customer_id, _span_of(edges.quarter, bounds).label("span"), *amounts)
        )
        if not by_service:
            parts.append(
                select(
                    edges.customer_id,
                    _span_of(edges.quarter, midnights).label("span"),
                    *((-amount).label(amount.name) for amount in amounts),
                )
            )
    if not parts:
        return None
    netted = union_all(*parts).subquery("netted")
    net = netted.c
    keys = [net.customer_id, net.span] if by_customer else [net.span]
    return (
        select(*keys, *(capped_sum(net[name]).label(name) for name in _COUNTED))
        .where(net.span >= 0)
        .group_by(*keys)
        # What a day gave and a quarter-hour took back leaves spans with no job.
        .having(func.sum(net.jobs) != 0)
    )


#: What a row of ``customer_days`` or a blocks' table counts, in the order read.
_COUNTED = (
    "jobs",
    *(f"jobs_{status}" for status in COUNTED_STATUSES),
    "backup_size_bytes",
    "duration_seconds",
)


def _edges(
    dialect: str,
    scope: TenantScope,
    customer_ids: Collection[UUID],
    ranges: Sequence[tuple[int, int]],
    job_types: Collection[int],
    job_modules: Collection[int],
) -> Any:
    """The ``job_outcomes`` rows of the visible customers (of ``customer_ids``, or all:
    then one index range of (partner, quarter) per range) in ``ranges`` of quarter-hours
    (customer, quarter, jobs, the jobs of each status, bytes, seconds), as a common table
    expression."""
    visible = customers.c
    outcome = job_outcomes.c
    kinds = (matching(outcome.job_type, job_types), matching(outcome.job_module, job_modules))
    # The jobs of each status a column, as in customer_days.
    columns = (
        outcome.customer_id,
        outcome.quarter,
        outcome.jobs,
        *(
            case((outcome.status == status, outcome.jobs), else_=0).label(f"jobs_{status}")
            for status in COUNTED_STATUSES
        ),
        outcome.backup_size_bytes,
        outcome.duration_seconds,
    )
    if dialect == "postgresql" and customer_ids:
        # Each customer's rows in each range, an index range each: joined plainly,
        # PostgreSQL reads every customer's rows of the ranges (the index by quarter-hour)
        # for a few customers. OFFSET 0 keeps the subquery from being pulled up.
        wanted = values(
            column("low", BigInteger()), column("high", BigInteger()), name="ranges"
        ).data(list(ranges))
        found = (
            select(*columns)
            .where(
                outcome.partner_id == visible.partner_id,
                outcome.customer_id == visible.id,
                outcome.quarter >= wanted.c.low,
                outcome.quarter < wanted.c.high,
                *kinds,
            )
            .offset(0)
            .lateral("counted")
        )
        return (
            select(*found.c)
            .select_from(customers.join(wanted, true()).join(found, true()))
            .where(
                scope.conditions.allows(visible.partner_id, visible.id),
                matching(visible.id, customer_ids),
            )
            .cte("edges")
        )
    return (
        select(*columns)
        .where(
            scope.conditions.allows(outcome.partner_id, outcome.customer_id),
            matching(outcome.customer_id, customer_ids),
            *kinds,
            or_(*(and_(outcome.quarter >= lo, outcome.quarter < hi) for lo, hi in ranges)),
        )
        .cte("edges")
    )
