"""Upstream sync's tables: the upstreams, their lease, runs and errors, the customers seen.

Operator and run functions take an :class:`AsyncConnection` (the caller's transaction).
An upstream is named within its partner; the credential is file paths, never a secret.

>>> # await add_upstream(connection, Upstream(...), now=now)
>>> # taken = await take_lease(connection, upstream, owner, now=now, until=now + LEASE)
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.bulk import insert_rows
from backupjobs.store.directory import (
    ConflictError,
    NotFoundError,
    require_partner,
    services_changed,
)
from backupjobs.store.schema import (
    SERVICE_KEY,
    backup_services,
    jobs,
    partners,
    sync_customers,
    sync_errors,
    sync_runs,
    sync_upstreams,
)
from backupjobs.store.scope import TenantScope

#: A run's states; ``running`` until it ends (or its process dies: then ``interrupted``).
RUNNING, SUCCEEDED, PARTIAL, FAILED, INTERRUPTED = (
    "running",
    "succeeded",
    "partial",
    "failed",
    "interrupted",
)
MAX_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream as configured: where, with which credential (files), how often."""

    partner_id: UUID
    name: str
    base_url: str
    token_url: str
    client_id: str
    secret_file: str | None
    cert_file: str | None
    key_file: str | None
    interval_seconds: int
    created_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as recorded."""

    id: UUID
    partner_id: UUID
    upstream: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    customers: int
    rows_read: int
    jobs_new: int
    jobs_updated: int
    errors: int
    requests: int


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run did so far."""

    customers: int = 0
    rows_read: int = 0
    jobs_new: int = 0
    jobs_updated: int = 0
    errors: int = 0
    requests: int = 0


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"an upstream name is 1 to {MAX_NAME_LENGTH} characters, not {name!r}")
    return cleaned


async def add_upstream(connection: AsyncConnection, upstream: Upstream) -> None:
    await require_partner(connection, upstream.partner_id)
    taken = await connection.scalar(
        select(sync_upstreams.c.name).where(
            sync_upstreams.c.partner_id == upstream.partner_id,
            sync_upstreams.c.name == upstream.name,
        )
    )
    if taken is not None:
        raise ConflictError(
            f"partner {upstream.partner_id} already has an upstream named {upstream.name!r}: "
            "choose another name, or remove it first"
        )
    await connection.execute(sync_upstreams.insert().values(asdict(upstream)))


_UPSTREAM_ORDER = (sync_upstreams.c.name, sync_upstreams.c.partner_id)


async def list_upstreams(
    connection: AsyncConnection, *, partner_id: UUID | None = None
) -> list[Upstream]:
    """Upstreams (of one partner, or all) by name."""
    query = select(sync_upstreams).order_by(*_UPSTREAM_ORDER)
    if partner_id is not None:
        await require_partner(connection, partner_id)
        query = query.where(sync_upstreams.c.partner_id == partner_id)
    return [Upstream(**row._mapping) for row in await connection.execute(query)]


async def find_upstream(
    connection: AsyncConnection, name: str, *, partner_id: UUID | None = None
) -> Upstream:
    """The upstream named ``name`` (of ``partner_id`` when two partners use the name)."""
    found = [
        upstream
        for upstream in await list_upstreams(connection, partner_id=partner_id)
        if upstream.name == name.strip()
    ]
    if not found:
        whose = f" of partner {partner_id}" if partner_id else ""
        raise NotFoundError(f"no upstream named {name!r}{whose} (sync list shows them)")
    if len(found) > 1:
        partners_named = ", ".join(str(upstream.partner_id) for upstream in found)
        raise ValueError(
            f"partners {partners_named} each have an upstream named {name!r}: give --partner"
        )
    return found[0]


def _this(upstream: Upstream, table: Any = sync_upstreams) -> tuple[Any, ...]:
    name = table.c.name if table is sync_upstreams else table.c.upstream
    return (table.c.partner_id == upstream.partner_id, name == upstream.name)


async def remove_upstream(connection: AsyncConnection, upstream: Upstream) -> int:
    """Remove an upstream with its runs, errors and customer marks (the customers and
    their jobs stay). Returns how many runs were removed."""
    runs = select(sync_runs.c.id).where(*_this(upstream, sync_runs))
    await connection.execute(
        sync_errors.delete().where(
            sync_errors.c.partner_id == upstream.partner_id, sync_errors.c.run_id.in_(runs)
        )
    )
    removed = await connection.execute(sync_runs.delete().where(*_this(upstream, sync_runs)))
    await connection.execute(sync_customers.delete().where(*_this(upstream, sync_customers)))
    await connection.execute(sync_upstreams.delete().where(*_this(upstream)))
    return removed.rowcount or 0


async def take_lease(
    connection: AsyncConnection,
    upstream: Upstream,
    owner: str,
    *,
    now: datetime,
    until: datetime,
    replacing: str | None = None,
) -> bool:
    """Hold the upstream's lease until ``until``: True if it was free, expired, already
    ``owner``'s, or ``replacing``'s (a holder known to be dead). One statement, so two
    processes asking at once never both get it."""
    lease = sync_upstreams.c
    free = or_(lease.lease_owner.is_(None), lease.lease_until < now, lease.lease_owner == owner)
    if replacing is not None:
        free = or_(free, lease.lease_owner == replacing)
    taken = await connection.execute(
        update(sync_upstreams)
        .where(*_this(upstream), free)
        .values(lease_owner=owner, lease_until=until)
    )
    return (taken.rowcount or 0) == 1


async def lease_holder(connection: AsyncConnection, upstream: Upstream) -> tuple[str | None, Any]:
    row = (
        await connection.execute(
            select(sync_upstreams.c.lease_owner, sync_upstreams.c.lease_until).where(
                *_this(upstream)
            )
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no upstream named {upstream.name!r}")
    return row[0], row[1]


async def release_lease(connection: AsyncConnection, upstream: Upstream, owner: str) -> None:
    await connection.execute(
        update(sync_upstreams)
        .where(*_this(upstream), sync_upstreams.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


async def start_run(connection: AsyncConnection, upstream: Upstream, *, now: datetime) -> UUID:
    """Record a new run; runs of this upstream still ``running`` (their process died: the
    caller holds the lease now) become ``interrupted``."""
    await connection.execute(
        update(sync_runs)
        .where(*_this(upstream, sync_runs), sync_runs.c.status == RUNNING)
        .values(status=INTERRUPTED, ended_at=now)
    )
    run_id = uuid.uuid4()
    await connection.execute(
        sync_runs.insert().values(
            partner_id=upstream.partner_id,
            upstream=upstream.name,
            id=run_id,
            started_at=now,
            status=RUNNING,
        )
    )
    return run_id


async def record_progress(
    connection: AsyncConnection,
    partner_id: UUID,
    run_id: UUID,
    counts: RunCounts,
    *,
    status: str = RUNNING,
    ended_at: datetime | None = None,
) -> None:
    await connection.execute(
        update(sync_runs)
        .where(sync_runs.c.partner_id == partner_id, sync_runs.c.id == run_id)
        .values(**asdict(counts), status=status, ended_at=ended_at)
    )


async def record_error(
    connection: AsyncConnection,
    partner_id: UUID,
    run_id: UUID,
    seq: int,
    customer_id: UUID | None,
    message: str,
    *,
    now: datetime,
) -> None:
    """Record the run's error number ``seq`` (the run's process counts them: it alone
    writes them, under the lease)."""
    await connection.execute(
        sync_errors.insert().values(
            partner_id=partner_id,
            run_id=run_id,
            seq=seq,
            customer_id=customer_id,
            at=now,
            message=message[:2000],
        )
    )


async def runs(
    connection: AsyncConnection, upstream: Upstream, *, limit: int = 10
) -> list[RunInfo]:
    """The upstream's latest runs, newest first."""
    rows = await connection.execute(
        select(
            sync_runs.c.id,
            sync_runs.c.partner_id,
            sync_runs.c.upstream,
            sync_runs.c.started_at,
            sync_runs.c.ended_at,
            sync_runs.c.status,
            sync_runs.c.customers,
            sync_runs.c.rows_read,
            sync_runs.c.jobs_new,
            sync_runs.c.jobs_updated,
            sync_runs.c.errors,
            sync_runs.c.requests,
        )
        .where(*_this(upstream, sync_runs))
        .order_by(sync_runs.c.started_at.desc(), sync_runs.c.id)
        .limit(limit)
    )
    return [RunInfo(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A recorded run's figures, as ``/metrics`` adds them up."""

    partner_id: UUID
    upstream: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    rows_read: int
    jobs_new: int
    jobs_updated: int
    errors: int


async def upstream_keys(connection: AsyncConnection) -> list[tuple[UUID, str, datetime]]:
    """Every upstream as (partner id, name, created at): an upstream removed and added
    again under its name is another one."""
    u = sync_upstreams.c
    rows = await connection.execute(select(u.partner_id, u.name, u.created_at))
    return [(partner_id, name, created_at) for partner_id, name, created_at in rows]


async def runs_since(
    connection: AsyncConnection, since: Mapping[tuple[UUID, str], datetime | None]
) -> list[RecordedRun]:
    """The runs of the upstreams ``since`` names, by (partner id, name), that started at or
    after the time given (None: all of them). Ranges of the runs' key, one per upstream."""
    if not since:
        return []
    r = sync_runs.c
    chosen = [
        and_(
            r.partner_id == partner_id,
            r.upstream == name,
            *([r.started_at >= start] if start is not None else []),
        )
        for (partner_id, name), start in since.items()
    ]
    rows = await connection.execute(
        select(
            r.partner_id,
            r.upstream,
            r.started_at,
            r.ended_at,
            r.status,
            r.rows_read,
            r.jobs_new,
            r.jobs_updated,
            r.errors,
        ).where(or_(*chosen))
    )
    return [RecordedRun(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class RunTotals:
    """An upstream's recorded runs of one status, added up."""

    partner_id: UUID
    upstream: str
    status: str
    runs: int
    rows_read: int
    jobs_new: int
    jobs_updated: int
    errors: int
    #: When the last of them ended (None if none has).
    last_ended_at: datetime | None


async def oldest_running(connection: AsyncConnection) -> dict[tuple[UUID, str], datetime]:
    """When each upstream's oldest run still ``running`` started, by (partner id, name)."""
    r = sync_runs.c
    rows = await connection.execute(
        select(r.partner_id, r.upstream, func.min(r.started_at))
        .where(r.status == RUNNING)
        .group_by(r.partner_id, r.upstream)
    )
    return {(partner_id, name): started for partner_id, name, started in rows}


async def run_totals_before(
    connection: AsyncConnection, before: Mapping[tuple[UUID, str], datetime]
) -> list[RunTotals]:
    """The runs of the upstreams ``before`` names that started before the time given,
    added up by status: one grouped read of ranges of the runs' key."""
    if not before:
        return []
    r = sync_runs.c
    chosen = [
        and_(r.partner_id == partner_id, r.upstream == name, r.started_at < end)
        for (partner_id, name), end in before.items()
    ]
    rows = await connection.execute(
        select(
            r.partner_id,
            r.upstream,
            r.status,
            func.count(),
            func.coalesce(func.sum(r.rows_read), 0),
            func.coalesce(func.sum(r.jobs_new), 0),
            func.coalesce(func.sum(r.jobs_updated), 0),
            func.coalesce(func.sum(r.errors), 0),
            func.max(r.ended_at),
        )
        .where(or_(*chosen))
        .group_by(r.partner_id, r.upstream, r.status)
    )
    return [RunTotals(*row) for row in rows]


async def last_success(connection: AsyncConnection, upstream: Upstream) -> datetime | None:
    """When the upstream's last run that read every customer ended."""
    ended: datetime | None = await connection.scalar(
        select(func.max(sync_runs.c.ended_at)).where(
            *_this(upstream, sync_runs), sync_runs.c.status == SUCCEEDED
        )
    )
    return ended


async def run_errors(
    connection: AsyncConnection, partner_id: UUID, run_id: UUID, *, limit: int = 20
) -> list[tuple[UUID | None, datetime, str]]:
    rows = await connection.execute(
        select(sync_errors.c.customer_id, sync_errors.c.at, sync_errors.c.message)
        .where(sync_errors.c.partner_id == partner_id, sync_errors.c.run_id == run_id)
        .order_by(sync_errors.c.seq)
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def customers_seen(
    connection: AsyncConnection,
    upstream: Upstream,
    customer_ids: Collection[UUID],
    *,
    now: datetime,
) -> None:
    """Mark the customers listed by this run as seen (and no longer gone)."""
    if not customer_ids:
        return
    rows = [
        {
            "partner_id": upstream.partner_id,
            "upstream": upstream.name,
            "customer_id": customer_id,
            "first_seen_at": now,
            "last_seen_at": now,
            "gone_at": None,
        }
        for customer_id in sorted(customer_ids)
    ]
    await insert_rows(
        connection,
        sync_customers,
        rows,
        lambda insert: insert.on_conflict_do_update(
            index_elements=["partner_id", "upstream", "customer_id"],
            set_={"last_seen_at": insert.excluded.last_seen_at, "gone_at": None},
        ),
    )


async def mark_gone(
    connection: AsyncConnection, upstream: Upstream, listed: Collection[UUID], *, now: datetime
) -> int:
    """Customers this upstream listed before and no longer lists: marked gone (kept, with
    their history). Returns how many were newly marked."""
    known = await connection.scalars(
        select(sync_customers.c.customer_id).where(
            *_this(upstream, sync_customers), sync_customers.c.gone_at.is_(None)
        )
    )
    gone = sorted(set(known.all()) - set(listed))
    if gone:
        await connection.execute(
            update(sync_customers)
            .where(*_this(upstream, sync_customers), sync_customers.c.customer_id.in_(gone))
            .values(gone_at=now)
        )
    return len(gone)


async def gone_customers(connection: AsyncConnection, upstream: Upstream) -> list[UUID]:
    found = await connection.scalars(
        select(sync_customers.c.customer_id)
        .where(*_this(upstream, sync_customers), sync_customers.c.gone_at.is_not(None))
        .order_by(sync_customers.c.customer_id)
    )
    return list(found.all())


async def stored_modify_times(
    connection: AsyncConnection, scope: TenantScope, job_ids: Collection[str]
) -> dict[str, datetime]:
    """The lastModifyTime recorded for each of ``job_ids`` the scope's partner has."""
    if not job_ids:
        return {}
    rows = await connection.execute(
        select(jobs.c.job_id, jobs.c.last_modify_time).where(
            jobs.c.partner_id == scope.partner_id,
            scope.conditions.allows(jobs.c.partner_id, jobs.c.customer_id),
            jobs.c.job_id.in_(sorted(job_ids)),
        )
    )
    return {row[0]: row[1] for row in rows}


async def add_services(
    connection: AsyncConnection,
    scope: TenantScope,
    services: Collection[tuple[UUID, int, int]],
    *,
    now: datetime,
) -> int:
    """Enable the backup services (customer, jobType, jobModule) that do not exist yet;
    one an operator disabled stays disabled. Returns how many were added."""
    if not services:
        return 0
    rows = [
        {
            "partner_id": scope.partner_id,
            **dict(zip(SERVICE_KEY, key, strict=True)),
            "enabled_at": now,
        }
        for key in sorted(services, key=lambda key: (key[0].int, key[1], key[2]))
    ]
    added = await insert_rows(
        connection,
        backup_services,
        rows,
        lambda insert: insert.on_conflict_do_nothing().returning(backup_services.c.customer_id),
    )
    customers = list(added.scalars())
    await services_changed(connection, scope.partner_id, set(customers))
    return len(customers)


async def partner_name(connection: AsyncConnection, partner_id: UUID) -> str | None:
    name: str | None = await connection.scalar(
        select(partners.c.name).where(partners.c.id == partner_id)
    )
    return name
