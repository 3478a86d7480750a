"""Jobs: the service pages both API generations read, and ingestion's upsert.

A service's latest job is the one with the latest start time; a job not yet started counts
as the latest; equal start times are ordered by jobId. Ingestion keeps a copy of that job
in ``backup_services`` in the same transaction as the history row, so a page never reads
``jobs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.paging import Page, fetch_page, offset_page_statement
from backupjobs.store.schema import LATEST, backup_services, customers, jobs
from backupjobs.store.scope import TenantScope
from backupjobs.wire.records import JobRecord

#: A job's reported fields, named as in ``jobs`` (and, prefixed, in ``backup_services``).
JOB_FIELDS = (
    "job_id",
    "status",
    "name",
    "total_count",
    "failed_count",
    "successful_count",
    "skipped_count",
    "warning_count",
    "backup_size_bytes",
    "start_time",
    "end_time",
    "last_modify_time",
)

_SERVICE_STATE = (
    backup_services.c.job_type,
    backup_services.c.job_module,
    *(backup_services.c[LATEST + name].label(name) for name in JOB_FIELDS),
)
_SERVICE_ORDER = (backup_services.c.job_type, backup_services.c.job_module)
_SERVICE_KEY = ("customer_id", "job_type", "job_module")

ServiceKey = tuple[UUID, int, int]


def service_page_statement(
    scope: TenantScope,
    customer_id: UUID,
    *,
    job_type: int | None = None,
    job_module: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Select[Any]:
    """A customer's services (latest job each) ordered by jobType, jobModule."""
    base = select(*_SERVICE_STATE).where(
        backup_services.c.partner_id == scope.partner_id,
        backup_services.c.customer_id == customer_id,
    )
    if job_type is not None:
        base = base.where(backup_services.c.job_type == job_type)
    if job_module is not None:
        base = base.where(backup_services.c.job_module == job_module)
    return offset_page_statement(
        base,
        order_by=_SERVICE_ORDER,
        offset=offset,
        limit=limit,
        anchor=scope.customer(customer_id),
    )


async def service_page(
    connection: AsyncConnection,
    scope: TenantScope,
    customer_id: UUID,
    *,
    job_type: int | None = None,
    job_module: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page | None:
    """One page of a customer's service rows; None if the customer is not visible."""
    statement = service_page_statement(
        scope, customer_id, job_type=job_type, job_module=job_module, offset=offset, limit=limit
    )
    return await fetch_page(connection, statement)


@dataclass(slots=True)
class Rejection:
    index: int
    job_id: str | None
    error: str


@dataclass(slots=True)
class IngestResult:
    """What happened to each record of a batch."""

    stored: int = 0
    stale: int = 0
    rejected: list[Rejection] = field(default_factory=list)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _rank(start_time: datetime | None, job_id: str) -> tuple[bool, datetime, str]:
    """Sort key of "latest": not started first, then latest start, then jobId."""
    return (start_time is None, start_time or _NEVER, job_id)


def _later_or_same_job(excluded: Any) -> ColumnElement[bool]:
    """Guard of the latest-job upsert: never replace a later job by an earlier one.

    Under concurrent ingestion each transaction decides from its own snapshot; this
    condition, evaluated against the locked row, keeps the outcome the same as serial.
    """
    current = backup_services.c
    new_start = excluded[LATEST + "start_time"]
    old_start = current[LATEST + "start_time"]
    new_id = excluded[LATEST + "job_id"]
    old_id = current[LATEST + "job_id"]
    return or_(
        old_id.is_(None),
        and_(
            new_id == old_id,
            excluded[LATEST + "last_modify_time"] >= current[LATEST + "last_modify_time"],
        ),
        and_(new_start.is_(None), or_(old_start.is_not(None), new_id > old_id)),
        and_(
            new_start.is_not(None),
            old_start.is_not(None),
            or_(new_start > old_start, and_(new_start == old_start, new_id > old_id)),
        ),
    )


def _insert(dialect: str, table: Any) -> Any:
    """INSERT with ON CONFLICT support, in the dialect's own construct."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _job_values(record: JobRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in JOB_FIELDS}


async def ingest(
    connection: AsyncConnection,
    scope: TenantScope,
    records: Sequence[tuple[int, JobRecord]],
    *,
    now: datetime,
) -> IngestResult:
    """Upsert validated ``(index, record)`` pairs in the caller's transaction.

    Records apply in order: one older than the stored (or an earlier record's)
    lastModifyTime is stale; a record for a customer outside ``scope`` is rejected as
    unknown; a jobId already recorded for another backup service is rejected.
    """
    result = IngestResult()
    dialect = connection.dialect.name
    visible = await _visible_customers(connection, scope, {r.customer_id for _, r in records})
    stored_lmt, owner = await _existing_jobs(connection, scope, {r.job_id for _, r in records})

    final: dict[str, JobRecord] = {}
    applied: dict[str, list[int]] = {}
    for index, record in records:
        if record.customer_id not in visible:
            result.rejected.append(
                Rejection(index, record.job_id, f"unknown customer {record.customer_id}")
            )
            continue
        key = (record.customer_id, record.job_type, record.job_module)
        recorded_for = owner.setdefault(record.job_id, key)
        if recorded_for != key:
            result.rejected.append(
                Rejection(
                    index,
                    record.job_id,
                    f"jobId {record.job_id!r} is already recorded for customer "
                    f"{recorded_for[0]}, jobType {recorded_for[1]}, jobModule {recorded_for[2]}",
                )
            )
            continue
        latest_lmt = stored_lmt.get(record.job_id)
        if latest_lmt is not None and record.last_modify_time < latest_lmt:
            result.stale += 1
            continue
        stored_lmt[record.job_id] = record.last_modify_time
        final[record.job_id] = record
        applied.setdefault(record.job_id, []).append(index)

    if final:
        recompute = await _update_latest(connection, scope, final.values(), now=now)
        written = await _upsert_jobs(connection, dialect, scope, final.values(), now=now)
        for job_id, indexes in applied.items():
            if job_id in written:
                result.stored += len(indexes)
            else:  # a concurrent, newer write of the same job won
                result.stale += len(indexes)
        for service in recompute:
            await _recompute_latest(connection, scope, service)
    result.rejected.sort(key=lambda rejection: rejection.index)
    return result


async def _visible_customers(
    connection: AsyncConnection, scope: TenantScope, customer_ids: set[UUID]
) -> set[UUID]:
    rows = await connection.scalars(scope.customers().where(customers.c.id.in_(customer_ids)))
    return set(rows.all())


async def _existing_jobs(
    connection: AsyncConnection, scope: TenantScope, job_ids: set[str]
) -> tuple[dict[str, datetime], dict[str, ServiceKey]]:
    rows = await connection.execute(
        select(
            jobs.c.job_id,
            jobs.c.last_modify_time,
            jobs.c.customer_id,
            jobs.c.job_type,
            jobs.c.job_module,
        ).where(jobs.c.partner_id == scope.partner_id, jobs.c.job_id.in_(job_ids))
    )
    stored_lmt: dict[str, datetime] = {}
    owner: dict[str, ServiceKey] = {}
    for job_id, lmt, customer_id, job_type, job_module in rows:
        stored_lmt[job_id] = lmt
        owner[job_id] = (customer_id, job_type, job_module)
    return stored_lmt, owner


async def _update_latest(
    connection: AsyncConnection,
    scope: TenantScope,
    records: Iterable[JobRecord],
    *,
    now: datetime,
) -> list[ServiceKey]:
    """Enable the records' services and move each one's latest job forward.

    Returns the services whose latest job moved back in time (its start time changed),
    which are recomputed from history once the jobs are written.
    """
    candidates: dict[ServiceKey, JobRecord] = {}
    updated_ids: dict[ServiceKey, set[str]] = {}
    for record in records:
        key = (record.customer_id, record.job_type, record.job_module)
        updated_ids.setdefault(key, set()).add(record.job_id)
        best = candidates.get(key)
        if best is None or _rank(record.start_time, record.job_id) > _rank(
            best.start_time, best.job_id
        ):
            candidates[key] = record

    current = await connection.execute(
        select(
            backup_services.c.customer_id,
            backup_services.c.job_type,
            backup_services.c.job_module,
            backup_services.c[LATEST + "job_id"],
            backup_services.c[LATEST + "start_time"],
        ).where(
            backup_services.c.partner_id == scope.partner_id,
            backup_services.c.customer_id.in_({key[0] for key in candidates}),
        )
    )
    existing = {(row[0], row[1], row[2]): (row[3], row[4]) for row in current}

    values: list[dict[str, Any]] = []
    recompute: list[ServiceKey] = []
    for key, best in candidates.items():
        latest = existing.get(key)
        if (
            latest is not None
            and latest[0] is not None
            and _rank(best.start_time, best.job_id) < _rank(latest[1], latest[0])
        ):
            if latest[0] in updated_ids[key]:
                recompute.append(key)
            continue
        row = {"partner_id": scope.partner_id, "enabled_at": now}
        row.update(zip(_SERVICE_KEY, key, strict=True))
        row.update({LATEST + name: value for name, value in _job_values(best).items()})
        values.append(row)

    if values:
        insert = _insert(connection.dialect.name, backup_services)
        latest_columns = {LATEST + name: insert.excluded[LATEST + name] for name in JOB_FIELDS}
        statement = insert.on_conflict_do_update(
            index_elements=["partner_id", *_SERVICE_KEY],
            set_=latest_columns,
            where=_later_or_same_job(insert.excluded),
        )
        await connection.execute(statement, sorted(values, key=_service_sort_key))
    return recompute


def _service_sort_key(row: Mapping[str, Any]) -> tuple[str, int, int]:
    # One lock order for every transaction, so concurrent batches never deadlock.
    return (str(row["customer_id"]), row["job_type"], row["job_module"])


async def _upsert_jobs(
    connection: AsyncConnection,
    dialect: str,
    scope: TenantScope,
    records: Iterable[JobRecord],
    *,
    now: datetime,
) -> set[str]:
    """Write the records to history; returns the jobIds actually written."""
    values = []
    for record in sorted(records, key=lambda r: r.job_id):
        row = _job_values(record)
        row.update(
            partner_id=scope.partner_id,
            customer_id=record.customer_id,
            job_type=record.job_type,
            job_module=record.job_module,
            recorded_at=now,
        )
        values.append(row)
    insert = _insert(dialect, jobs)
    statement = insert.on_conflict_do_update(
        index_elements=["partner_id", "job_id"],
        set_={name: insert.excluded[name] for name in JOB_FIELDS if name != "job_id"},
        where=jobs.c.last_modify_time <= insert.excluded.last_modify_time,
    ).returning(jobs.c.job_id)
    written = await connection.execute(statement, values)
    return set(written.scalars())


async def _recompute_latest(
    connection: AsyncConnection, scope: TenantScope, service: ServiceKey
) -> None:
    customer_id, job_type, job_module = service
    top = (
        await connection.execute(
            select(*(jobs.c[name] for name in JOB_FIELDS))
            .where(
                jobs.c.partner_id == scope.partner_id,
                jobs.c.customer_id == customer_id,
                jobs.c.job_type == job_type,
                jobs.c.job_module == job_module,
            )
            .order_by(jobs.c.start_time.desc().nulls_first(), jobs.c.job_id.desc())
            .limit(1)
        )
    ).one()
    await connection.execute(
        update(backup_services)
        .where(
            backup_services.c.partner_id == scope.partner_id,
            backup_services.c.customer_id == customer_id,
            backup_services.c.job_type == job_type,
            backup_services.c.job_module == job_module,
        )
        .values({LATEST + name: top._mapping[name] for name in JOB_FIELDS})
    )
