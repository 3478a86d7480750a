"""What the reports add up, kept beside the history in the transaction that changes it.

>>> # counted = await outcomes.jobs_written(connection, partner_id, written_records, ...)
>>> # await outcomes.move_days(connection, partner_id, counted.moves, ...)  # last
>>> # await outcomes.jobs_removed(connection, partner_id, removed)      # retention

Two things, both recounted from the history rather than adjusted by differences, so that
a re-reported job (a new status, a new start time), jobs arriving out of order and
retention all leave them equal to a count of the history:

- ``job_outcomes``: per backup service, quarter-hour (UTC) of the jobs' sort time and
  status, the jobs, their bytes and their seconds. A written job's quarter-hour, and the
  one it left, are counted again from the jobs of that service in them (an index range).
  Quarter-hours make a calendar day exact in every time zone in use (all offsets are
  whole quarter-hours), so ``/api/v1/daily`` adds them up for any ``tz``.
- ``customer_days``: per customer and UTC day, the same jobs (in all and of each status,
  a column each), bytes and seconds added up over the customer's services and the day's
  96 quarter-hours. A summary over 30 days of a customer with 20 services running a
  job a night reads 30 rows or so from it where ``job_outcomes`` would give 600: the
  reads (:mod:`.summary`) take whole UTC days from here and only the quarter-hours
  between a window's ends (or a local day's midnight) and a UTC midnight near them from
  ``job_outcomes``.
- ``customer_blocks``: the same per block of 4 UTC days (:data:`BLOCK_DAYS`), moved with
  its days, and ``customer_long_blocks`` per long block of 16 (:data:`LONG_BLOCK_DAYS`):
  a summary over 30 days reads about 7 rows per customer (long blocks, blocks, the days
  at its ends).
- ``backup_services.last_success_time`` and ``consecutive_failures``, from the service's
  latest few jobs (all of them only while they are all failures), and with them the
  customer's figures (``customers.services_last_success`` and the rest,
  :func:`.directory.summary_update`).

``customer_days`` (and so ``customer_blocks``) is kept equal to the sum of
``job_outcomes``, not counted from the
history: every change to ``job_outcomes`` moves the customer's day by exactly what it
changed (a quarter-hour counted again moves it by the new rows less the rows deleted,
read back as they are deleted; a new job by its increment), in one upsert per
transaction in key order, and a day left with no job is removed. Why not recount it: a
day row is shared by all of a customer's services, which concurrent batches lock one
service at a time; recounting the day from ``job_outcomes`` would need every batch
writing to the customer to wait for the others (a customer-wide lock), or could write a
count that misses another batch's uncommitted jobs and then loses them. Moves by
differences of rows read under the services' locks add up whatever the order, and since
``job_outcomes`` equals a count of the history, so does the sum (the property test in
``tests/store/test_outcomes.py`` recounts both from the history).

Both run after the services' rows are locked by ingestion (:mod:`.ingestion`), so that
concurrent batches writing to the same service count in turn, each seeing the other's
committed jobs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model import JobRecord, ServiceKey
from backupjobs.store import directory
from backupjobs.store.bulk import insert_rows, one_of, recordset
from backupjobs.store.schema import (
    COUNTED_STATUSES,
    JOB_SORT_TIME,
    LATEST,
    backup_services,
    customer_blocks,
    customer_days,
    customer_long_blocks,
    job_outcomes,
    jobs,
)
from backupjobs.store.sums import SATURATED, capped, kept_plus

QUARTER = timedelta(minutes=15)
#: Quarter-hours in a UTC day.
DAY_QUARTERS = 96
#: UTC days in a block of ``customer_blocks``, and in a long block of
#: ``customer_long_blocks`` (a whole number of blocks).
BLOCK_DAYS = 4
LONG_BLOCK_DAYS = 16
_QUARTER_SECONDS = 900
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_FAILED = (3, 7)
_SUCCESSFUL = (2, 4)
#: The latest jobs of a service read to know its failures in a row and its last success;
#: past them (a long run of failures), the rest of its history is read.
_LATEST_READ = 4

#: Per (service, quarter, status): [jobs, bytes, seconds].
_Counts = dict[tuple[UUID, int, int, int, int], list[int]]
#: Per (customer, UTC day): what [jobs, bytes, seconds, jobs of each counted status]
#: move by.
_DayMoves = dict[tuple[UUID, int], list[int]]
#: A status's place in a move (after jobs, bytes and seconds).
_STATUS_PLACE = {status: 3 + n for n, status in enumerate(COUNTED_STATUSES)}
_MOVE_WIDTH = 3 + len(COUNTED_STATUSES)


def quarter_of(moment: datetime) -> int:
    """The quarter-hour holding ``moment``: quarter-hours since 1970-01-01T00:00Z."""
    # Whole seconds since the epoch are exact in a float; a quarter-hour boundary too.
    return int(moment.timestamp() // _QUARTER_SECONDS)


def quarter_start(quarter: int) -> datetime:
    return _EPOCH + quarter * QUARTER


def day_of(quarter: int) -> int:
    """The UTC day (days since 1970-01-01) holding ``quarter``."""
    return quarter // DAY_QUARTERS


def job_seconds(start: datetime | None, end: datetime | None) -> int:
    """Whole seconds of a job with a start and an end; 0 otherwise (a running job's
    duration changes as it runs and is not counted)."""
    if start is None or end is None:
        return 0
    return max((end - start) // _SECOND, 0)


async def lock_recorded(
    connection: AsyncConnection, partner_id: UUID, job_ids: Collection[str]
) -> dict[str, datetime]:
    """The sort time of each of ``job_ids`` already recorded, by jobId, the rows locked
    (in jobId order, as the history's upsert then writes them) until the commit."""
    if not job_ids:
        return {}
    statement = (
        select(jobs.c.job_id, JOB_SORT_TIME)
        .where(jobs.c.partner_id == partner_id, one_of(connection, jobs.c.job_id, sorted(job_ids)))
        .order_by(jobs.c.job_id)
    )
    if connection.dialect.name == "postgresql":  # SQLite: the one writer already
        statement = statement.with_for_update()
    found: dict[str, datetime] = {}
    for job_id, sort_time in await connection.execute(statement):
        found[job_id] = sort_time
    return found


async def jobs_written(
    connection: AsyncConnection,
    partner_id: UUID,
    records: Sequence[JobRecord],
    *,
    previous_sort: Mapping[str, datetime],
    inserted: Collection[str],
    on_top: Collection[ServiceKey],
) -> Counted:
    """Count written ``records`` in (after the services' rows are locked), all but the
    customers' days: what is left for the end of the transaction is returned
    (:class:`Counted`).

    A new job (``inserted``) adds to its quarter-hour's counts. A job that was recorded
    before has its quarter-hour, and the one it left (``previous_sort``: the sort time
    stored before, by jobId), counted again. A service's failures in a row and last
    success are right already when its one written job was new and went on top of its
    latest (``on_top``: :func:`on_top_of_latest` set them); any other service written
    to has them read again.
    """
    recount: dict[ServiceKey, set[int]] = {}
    everywhere: set[ServiceKey] = set()
    added: _Counts = {}
    written_per_service: dict[ServiceKey, list[JobRecord]] = {}
    for record in records:
        key = (record.customer_id, record.job_type, record.job_module)
        written_per_service.setdefault(key, []).append(record)
        quarter = quarter_of(record.start_time or record.last_modify_time)
        if record.job_id in inserted:
            entry = added.setdefault((*key, quarter, record.status), [0, 0, 0])
            entry[0] += 1
            entry[1] += record.backup_size_bytes or 0
            entry[2] += job_seconds(record.start_time, record.end_time)
            continue
        quarters = recount.setdefault(key, set())
        quarters.add(quarter)
        before = previous_sort.get(record.job_id)
        if before is not None:
            quarters.add(quarter_of(before))
        else:  # a concurrent batch recorded it first: where it was is not known here
            everywhere.add(key)
    for key in everywhere:
        recount[key] |= await _all_quarters(connection, partner_id, key)
    # A quarter-hour counted again from history holds this batch's new jobs already.
    increments = {
        key: counts for key, counts in added.items() if key[3] not in recount.get(key[:3], ())
    }
    moves: _DayMoves = {}
    await recount_quarters(connection, partner_id, recount, moves)
    await _add(connection, partner_id, increments, moves)
    refreshed = await refresh_services(
        connection,
        partner_id,
        [
            key
            for key, written in written_per_service.items()
            if not (len(written) == 1 and written[0].job_id in inserted and key in on_top)
        ],
    )
    return Counted(moves, refreshed)


@dataclass(frozen=True, slots=True)
class Counted:
    """What :func:`jobs_written` leaves to its caller, for the end of the transaction:
    the customers' days to move (:func:`move_days`) and the customers whose figures to
    read again (:func:`.directory.summaries_read_again`).

    Why the end: a customer's ``customers`` row, locked before its days are written, is
    shared by every batch that writes to the customer, and engines report all their
    customers at once, so concurrent batches take those locks in turn, each holding them
    until it commits. Taken last, with the days and the customers' UPDATE in one round
    trip, little else runs while they are held (``docs/scaling.md``, "Ingestion at
    volume").
    """

    moves: _DayMoves
    customers: set[UUID]


async def _all_quarters(connection: AsyncConnection, partner_id: UUID, key: ServiceKey) -> set[int]:
    """Every quarter-hour a service has jobs or counts in (rare: a whole recount)."""
    outcome = job_outcomes.c
    counted = await connection.execute(
        select(outcome.quarter).where(
            outcome.partner_id == partner_id,
            outcome.customer_id == key[0],
            outcome.job_type == key[1],
            outcome.job_module == key[2],
        )
    )
    found = {quarter for (quarter,) in counted}
    sorts = await connection.execute(select(JOB_SORT_TIME).where(_service_is(partner_id, *key)))
    return found | {quarter_of(sort_time) for (sort_time,) in sorts}


def on_top_of_latest(excluded: Any) -> dict[str, ColumnElement[Any]]:
    """The failures in a row and last success of a service whose latest job becomes the
    new job ``excluded`` (the latest-job upsert's), on top of the current one."""
    current = backup_services.c
    status = excluded[LATEST + "status"]
    return {
        "consecutive_failures": case(
            (status.in_(_FAILED), current.consecutive_failures + 1), else_=0
        ),
        "last_success_time": case(
            (
                status.in_(_SUCCESSFUL),
                func.coalesce(excluded[LATEST + "end_time"], excluded[LATEST + "start_time"]),
            ),
            else_=current.last_success_time,
        ),
    }


def _moved(moves: _DayMoves, key: tuple[UUID, int, int, int, int], by: Sequence[int]) -> None:
    """Move the day of ``key`` (a ``job_outcomes`` row's: customer, type, module, quarter,
    status) by ``by`` (its jobs, bytes, seconds; negative for a row taken out)."""
    entry = moves.setdefault((key[0], day_of(key[3])), [0] * _MOVE_WIDTH)
    for position, value in enumerate(by):
        entry[position] += value
    entry[_STATUS_PLACE[key[4]]] += by[0]


async def _add(
    connection: AsyncConnection, partner_id: UUID, counts: _Counts, moves: _DayMoves
) -> None:
    """Add ``counts`` to ``job_outcomes`` (and their days to ``moves``)."""
    if not counts:
        return
    for key, by in counts.items():
        _moved(moves, key, by)
    rows = [
        {
            "partner_id": partner_id,
            "customer_id": c,
            "quarter": q,
            "job_type": t,
            "job_module": m,
            "status": status,
            "jobs": n,
            "backup_size_bytes": capped(size),
            "duration_seconds": capped(seconds),
        }
        for (c, t, m, q, status), (n, size, seconds) in sorted(
            counts.items(), key=lambda item: (item[0][0].int, *item[0][1:])
        )
    ]

    def add(insert: Any) -> Any:
        kept = job_outcomes.c
        return insert.on_conflict_do_update(
            index_elements=[c.name for c in job_outcomes.primary_key],
            set_={
                name: kept_plus(name, kept[name], insert.excluded[name])
                for name in ("jobs", "backup_size_bytes", "duration_seconds")
            },
        )

    await insert_rows(connection, job_outcomes, rows, add)


async def jobs_removed(
    connection: AsyncConnection,
    partner_id: UUID,
    removed: Iterable[tuple[UUID, int, int, datetime]],
) -> None:
    """Count removed jobs out (``(customer, jobType, jobModule, sort time)`` each)."""
    touched: dict[ServiceKey, set[int]] = {}
    for customer_id, job_type, job_module, sort_time in removed:
        touched.setdefault((customer_id, job_type, job_module), set()).add(quarter_of(sort_time))
    moves: _DayMoves = {}
    await recount_quarters(connection, partner_id, touched, moves)
    refreshed = await refresh_services(connection, partner_id, touched)
    # A last success can move with no new latest job (retention): the figures change,
    # the revision does not (the job pages show no last success).
    await move_days(connection, partner_id, moves, read_again=refreshed, revised=())


async def recount_quarters(
    connection: AsyncConnection,
    partner_id: UUID,
    quarters: Mapping[ServiceKey, Collection[int]],
    moves: _DayMoves,
) -> None:
    """Count the jobs of each service in each of its ``quarters`` again, from history;
    what this moves each customer's days by goes into ``moves`` (the rows taken out, read
    as they are deleted, out; the rows counted, in)."""
    if not quarters:
        return
    services = sorted(quarters, key=lambda key: (key[0].int, key[1], key[2]))
    ranges = [
        (*key, quarter_start(min(quarters[key])), quarter_start(max(quarters[key]) + 1))
        for key in services
    ]
    counts: _Counts = {}
    for customer_id, job_type, job_module, status, size, start, end, modified in await _jobs_in(
        connection, partner_id, ranges
    ):
        quarter = quarter_of(start or modified)
        if quarter not in quarters[(customer_id, job_type, job_module)]:
            continue
        entry = counts.setdefault((customer_id, job_type, job_module, quarter, status), [0, 0, 0])
        entry[0] += 1
        entry[1] += size or 0
        entry[2] += job_seconds(start, end)
    kept = job_outcomes.c
    removed = await _apply(
        connection,
        delete(job_outcomes),
        job_outcomes,
        partner_id,
        {"quarter": kept.quarter},
        [(c, t, m, q) for c, t, m in services for q in sorted(quarters[(c, t, m)])],
        returning=(
            kept.customer_id,
            kept.job_type,
            kept.job_module,
            kept.quarter,
            kept.status,
            kept.jobs,
            kept.backup_size_bytes,
            kept.duration_seconds,
        ),
    )
    for c, t, m, q, status, n, size, seconds in removed:
        _moved(moves, (c, t, m, q, status), (-n, -size, -seconds))
    for key, by in counts.items():
        _moved(moves, key, by)
    if counts:
        rows = [
            {
                "partner_id": partner_id,
                "customer_id": c,
                "quarter": q,
                "job_type": t,
                "job_module": m,
                "status": status,
                "jobs": n,
                "backup_size_bytes": capped(size),
                "duration_seconds": capped(seconds),
            }
            for (c, t, m, q, status), (n, size, seconds) in counts.items()
        ]
        await insert_rows(connection, job_outcomes, rows)


async def refresh_services(
    connection: AsyncConnection, partner_id: UUID, services: Iterable[ServiceKey]
) -> set[UUID]:
    """Read each service's last success and failures in a row again, from history; the
    customers whose figures to read again (:func:`.directory.summaries_read_again`)."""
    keys = sorted(services, key=lambda key: (key[0].int, key[1], key[2]))
    if not keys:
        return set()
    latest: dict[ServiceKey, list[tuple[int, datetime | None, datetime | None]]] = {}
    for customer_id, job_type, job_module, status, start, end in await _latest_jobs(
        connection, partner_id, keys
    ):
        latest.setdefault((customer_id, job_type, job_module), []).append((status, start, end))
    values: list[tuple[Any, ...]] = []
    for key in keys:
        runs = latest.get(key, [])
        failures = _leading_failures(runs)
        success = next((end or start for status, start, end in runs if status in _SUCCESSFUL), None)
        if len(runs) == _LATEST_READ and (failures == _LATEST_READ or success is None):
            everything = await _all_jobs(connection, partner_id, key)
            failures = _leading_failures(everything)
            success = next(
                (end or start for status, start, end in everything if status in _SUCCESSFUL), None
            )
        values.append((*key, success, failures))
    service = backup_services.c
    await _apply(
        connection,
        update(backup_services),
        backup_services,
        partner_id,
        {
            "last_success_time": service.last_success_time,
            "consecutive_failures": service.consecutive_failures,
        },
        values,
        assign=True,
    )
    return {key[0] for key in keys}


async def _apply(
    connection: AsyncConnection,
    statement: Any,
    table: Any,
    partner_id: UUID,
    extra: Mapping[str, Any],
    rows: Sequence[tuple[Any, ...]],
    *,
    assign: bool = False,
    returning: Sequence[Any] = (),
) -> list[Any]:
    """``statement`` (a DELETE or an UPDATE of ``table``) for each of ``rows``: a service
    key and ``extra`` values, which select the row (DELETE) or are set (UPDATE, ``assign``).
    One statement over the rows as a table on PostgreSQL; one per row on SQLite. The
    ``returning`` columns of the rows it changed."""
    if not rows:
        return []
    keyed = {
        "customer_id": table.c.customer_id,
        "job_type": table.c.job_type,
        "job_module": table.c.job_module,
    }
    columns = {**keyed, **extra}
    key_columns = dict(keyed) if assign else columns
    params: Any
    if connection.dialect.name == "postgresql":
        wanted, params = recordset(connection, columns, rows)
        source = {name: wanted.c[name] for name in columns}
    else:
        source = {
            name: bindparam(f"w_{name}", type_=column.type) for name, column in columns.items()
        }
        params = [
            {f"w_{name}": value for name, value in zip(columns, row, strict=True)} for row in rows
        ]
    statement = statement.where(
        table.c.partner_id == partner_id,
        *(column == source[name] for name, column in key_columns.items()),
    )
    if assign:
        statement = statement.values({name: source[name] for name in extra})
    if not returning:
        await connection.execute(statement, params)
        return []
    statement = statement.returning(*returning)
    if isinstance(params, dict):
        return list(await connection.execute(statement, params))
    found: list[Any] = []
    for each in params:  # SQLite: RETURNING is for one execution at a time
        found += await connection.execute(statement, each)
    return found


async def move_days(
    connection: AsyncConnection,
    partner_id: UUID,
    moves: _DayMoves,
    *,
    read_again: Collection[UUID],
    revised: Collection[UUID],
) -> None:
    """Move each customer's days (``customer_days``), their blocks (``customer_blocks``)
    and long blocks (``customer_long_blocks``) by ``moves``, and read the figures of the
    customers ``read_again`` again (those in ``revised`` with a new revision): the
    customers are locked first, in id order, then the three upserts and the customers'
    UPDATE go in one round trip (:func:`.directory.summaries_read_again`); a day or block
    left with no job is removed.

    Every writer of a customer's days holds the customer's lock first, so concurrent
    batches never wait for each other's days, only for the customer.
    """
    moved = [_moved_rows(partner_id, customer_days, customer_days.c.day, moves)]
    for table, unit, days in (
        (customer_blocks, customer_blocks.c.block, BLOCK_DAYS),
        (customer_long_blocks, customer_long_blocks.c.long_block, LONG_BLOCK_DAYS),
    ):
        blocks: _DayMoves = {}
        for (customer_id, day), by in moves.items():
            key = (customer_id, day // days)
            entry = blocks.get(key)
            # A new list for a sum: ``by`` itself is the day's, and left as it is.
            blocks[key] = by if entry is None else [a + b for a, b in zip(entry, by, strict=True)]
        moved.append(_moved_rows(partner_id, table, unit, blocks))
    await directory.summaries_read_again(
        connection,
        partner_id,
        {customer_id for customer_id, _ in moves} | set(read_again),
        revised=revised,
        after_rows=[(table, rows, _add_moved) for table, _, rows, _ in moved],
    )
    for table, unit, _, emptied in moved:
        if emptied:
            await connection.execute(
                delete(table).where(
                    table.c.partner_id == partner_id,
                    one_of(connection, table.c.customer_id, sorted({c for c, _ in emptied})),
                    one_of(connection, unit, sorted({when for _, when in emptied})),
                    table.c.jobs == 0,
                )
            )


#: The columns of ``customer_days`` and the blocks' tables a move adds to, in its order.
_MOVED = (
    "jobs",
    "backup_size_bytes",
    "duration_seconds",
    *(f"jobs_{status}" for status in COUNTED_STATUSES),
)


def _moved_rows(
    partner_id: UUID, table: Any, unit: Any, moves: _DayMoves
) -> tuple[Any, Any, list[dict[str, Any]], list[tuple[UUID, int]]]:
    """``moves`` (by customer and ``unit``) as rows to add to ``table``, in key order, and
    the keys of those that took jobs out (left empty, perhaps)."""
    changed = sorted(
        ((key, by) for key, by in moves.items() if any(by)),
        key=lambda item: (item[0][0].int, item[0][1]),
    )
    columns = ("partner_id", "customer_id", unit.name, *_MOVED)
    rows = []
    for (c, when), by in changed:
        row = dict(zip(columns, (partner_id, c, when, *by), strict=True))
        for name in SATURATED:  # the counts of jobs cannot come near a BIGINT's end
            row[name] = capped(row[name])
        rows.append(row)
    return table, unit, rows, [key for key, by in changed if by[0] < 0]


def _add_moved(insert: Any) -> Any:
    """A move's upsert: the moved figures added to the row's (saturating)."""
    kept = insert.table.c
    return insert.on_conflict_do_update(
        index_elements=[c.name for c in insert.table.primary_key],
        set_={name: kept_plus(name, kept[name], insert.excluded[name]) for name in _MOVED},
    )


def _leading_failures(runs: Sequence[tuple[int, Any, Any]]) -> int:
    count = 0
    for status, _, _ in runs:
        if status not in _FAILED:
            break
        count += 1
    return count


def _service_is(partner_id: UUID, customer: Any, job_type: Any, job_module: Any) -> Any:
    return and_(
        jobs.c.partner_id == partner_id,
        jobs.c.customer_id == customer,
        jobs.c.job_type == job_type,
        jobs.c.job_module == job_module,
    )


def _within(low: Any, high: Any) -> Any:
    """Jobs whose sort time is in [low, high): two ranges of the service's index."""
    return or_(
        and_(jobs.c.start_time >= low, jobs.c.start_time < high),
        and_(
            jobs.c.start_time.is_(None),
            jobs.c.last_modify_time >= low,
            jobs.c.last_modify_time < high,
        ),
    )


_RANGE_COLUMNS = (
    jobs.c.status,
    jobs.c.backup_size_bytes,
    jobs.c.start_time,
    jobs.c.end_time,
    jobs.c.last_modify_time,
)
#: Status, start and end (what counts); last change and jobId (the order).
_LATEST_COLUMNS = (
    jobs.c.status,
    jobs.c.start_time,
    jobs.c.end_time,
    jobs.c.last_modify_time,
    jobs.c.job_id,
)


async def _jobs_in(
    connection: AsyncConnection,
    partner_id: UUID,
    ranges: Sequence[tuple[UUID, int, int, datetime, datetime]],
) -> Sequence[Any]:
    """(customer, type, module, status, bytes, start, end, lastModify) of each service's
    jobs in its [low, high) range of sort time."""
    if connection.dialect.name != "postgresql":
        found: list[Any] = []
        for customer, job_type, job_module, low, high in ranges:
            result = await connection.execute(
                select(*_RANGE_COLUMNS).where(
                    _service_is(partner_id, customer, job_type, job_module), _within(low, high)
                )
            )
            found += [(customer, job_type, job_module, *row) for row in result]
        return found
    wanted, params = recordset(connection, _RANGE_KEYS, ranges)
    each = (
        select(*_RANGE_COLUMNS)
        .where(
            _service_is(partner_id, wanted.c.c, wanted.c.t, wanted.c.m),
            _within(wanted.c.low, wanted.c.high),
        )
        .lateral("found")
    )
    statement = select(wanted.c.c, wanted.c.t, wanted.c.m, *each.c).select_from(
        wanted.join(each, true())
    )
    return (await connection.execute(statement, params)).all()


async def _latest_jobs(
    connection: AsyncConnection, partner_id: UUID, services: Sequence[ServiceKey]
) -> Sequence[Any]:
    """(customer, type, module, status, start, end) of each service's latest jobs, the
    latest first: by sort time and jobId (:func:`backupjobs.model.latest_sort_key`), as
    its latest job is chosen. Read as the latest started jobs (by start, the service's
    index) and the latest not started (by last change), a few of each, put together."""
    started = jobs.c.start_time.is_not(None)
    reads = (
        (started, (jobs.c.start_time.desc(), jobs.c.job_id.desc())),
        (~started, (jobs.c.last_modify_time.desc(), jobs.c.job_id.desc())),
    )
    found: list[Any] = []
    if connection.dialect.name != "postgresql":
        for customer, job_type, job_module in services:
            for which, order in reads:
                result = await connection.execute(
                    select(*_LATEST_COLUMNS)
                    .where(_service_is(partner_id, customer, job_type, job_module), which)
                    .order_by(*order)
                    .limit(_LATEST_READ)
                )
                found += [(customer, job_type, job_module, *row) for row in result]
    else:
        wanted, params = recordset(connection, _SERVICE_KEYS, services)
        parts = []
        for which, order in reads:
            each = (
                select(*_LATEST_COLUMNS)
                .where(_service_is(partner_id, wanted.c.c, wanted.c.t, wanted.c.m), which)
                .order_by(*order)
                .limit(_LATEST_READ)
                .lateral("found")
            )
            parts.append(
                select(wanted.c.c, wanted.c.t, wanted.c.m, *each.c).select_from(
                    wanted.join(each, true())
                )
            )
        found += (await connection.execute(union_all(*parts), params)).all()
    per_service: dict[ServiceKey, list[Any]] = {}
    for row in found:
        per_service.setdefault((row[0], row[1], row[2]), []).append(row)
    latest: list[Any] = []
    for runs in per_service.values():
        runs.sort(key=lambda row: (row[4] or row[6], row[7]), reverse=True)
        latest += [row[:6] for row in runs[:_LATEST_READ]]
    return latest


async def _all_jobs(
    connection: AsyncConnection, partner_id: UUID, service: ServiceKey
) -> list[tuple[int, datetime | None, datetime | None]]:
    result = await connection.execute(
        select(*_LATEST_COLUMNS[:3])
        .where(_service_is(partner_id, *service))
        .order_by(JOB_SORT_TIME.desc(), jobs.c.job_id.desc())
    )
    return [tuple(row) for row in result]


_SERVICE_KEYS = {"c": jobs.c.customer_id, "t": jobs.c.job_type, "m": jobs.c.job_module}
_RANGE_KEYS = {**_SERVICE_KEYS, "low": jobs.c.start_time, "high": jobs.c.start_time}
