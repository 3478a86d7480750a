"""Ingestion: job records upserted into the history and each service's latest job.

>>> # ingestor = Ingestor(db)                                 # one per database, kept
>>> # result = await ingestor.ingest_batch(scope, records)    # a transaction of its own
>>> # result = await ingestor.ingest(connection, scope, records, now=now)   # the caller's

A service's latest job is the one with the greatest sort time (its start time, or its last
modification when it has none), ties by jobId (:func:`backupjobs.model.latest_sort_key`;
:func:`.schema.sort_time` in SQL). Ingestion keeps a copy of that job
in ``backup_services`` in the same transaction as the history row, and gives the
customers whose services changed a new revision (:func:`.directory.summaries_read_again`),
which is what the job pages' readers go by (:mod:`backupjobs.store.services`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import (
    Boolean,
    ColumnElement,
    and_,
    bindparam,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.infra.cache import BoundedCache
from backupjobs.model import IngestResult, JobRecord, Rejection, ServiceKey, latest_sort_key
from backupjobs.store import incidents, outcomes
from backupjobs.store.bulk import (
    built,
    dialect_insert,
    find,
    insert_rows,
    keyed_statement,
    keys_parameters,
)
from backupjobs.store.database import Database
from backupjobs.store.schema import (
    JOB_FIELDS,
    LATEST,
    SERVICE_KEY,
    UtcDateTime,
    backup_services,
    customers,
    jobs,
    sort_time,
)
from backupjobs.store.scope import (
    PARTNER_PARAMETER,
    SCOPE_PARAMETERS,
    ScopeConditions,
    TenantScope,
)
from backupjobs.store.webhooks import ClaimedHere

#: Backup services an :class:`Ingestor` knows to exist (a few hundred bytes each); past
#: this, those it learned of first are forgotten first (and looked for again if needed).
KNOWN_SERVICES = 50_000

#: The rejection of a record whose jobId another backup service's job of the partner has.
_TAKEN = (
    "jobId %r is already recorded for another backup service: a jobId is unique across "
    "the partner's customers, types and modules"
)

#: A backup service as known: (its customer's creation time, customer id, jobType,
#: jobModule). A customer offboarded and made again with its id has none of its services.
_KnownService = tuple[datetime, UUID, int, int]


class Ingestor:
    """Ingestion into ``db``, and the backup services it knows to exist there.

    A job's first record enables its service; a service this ingestor has seen in the
    database is not looked for again (a service goes only with its customer, and a customer
    made again has a new creation time). Create one per
    database, for as long as the database is used.
    """

    def __init__(self, db: Database, *, known_services: int = KNOWN_SERVICES) -> None:
        self._db = db
        self._known: BoundedCache[_KnownService, bool] = BoundedCache(known_services)

    async def ingest_batch(
        self,
        scope: TenantScope,
        records: Sequence[tuple[int, JobRecord]],
        *,
        claimed_here: ClaimedHere | None = None,
    ) -> IngestResult:
        """:meth:`ingest` in a transaction of its own, run again if PostgreSQL aborts it to
        resolve a deadlock (:meth:`Database.transaction`).

        Two batches bringing one new jobId for two services at once meet on the history's
        key, (partner, jobId), which the upsert resolves: the second waits for the first
        and is told the jobId is taken, as when they come one after the other."""
        return await self._db.transaction(
            lambda connection: self.ingest(
                connection, scope, records, now=datetime.now(UTC), claimed_here=claimed_here
            )
        )

    async def ingest(
        self,
        connection: AsyncConnection,
        scope: TenantScope,
        records: Sequence[tuple[int, JobRecord]],
        *,
        now: datetime,
        claimed_here: ClaimedHere | None = None,
    ) -> IngestResult:
        """Upsert validated ``(index, record)`` pairs in the caller's transaction (on a
        connection of this ingestor's database); the webhook deliveries of its alert events
        written claimed with ``claimed_here`` (:func:`.incidents.write_events`), which holds
        those of this transaction alone.

        Records apply in order: one older than the stored (or an earlier record's)
        lastModifyTime is stale; a record for a customer outside ``scope`` is rejected as
        unknown; a jobId already recorded for another backup service is rejected.

        The history is written first, then the services' latest jobs, then what the
        reports and alerts keep, and last the rows every concurrent batch shares (the
        customers' days and the customers): a row is locked only from its write to the
        commit, so that batches touching the same services or customers (engines report
        every customer's jobs at once) wait for each other briefly.
        """
        result = IngestResult()
        if claimed_here is not None:
            claimed_here.deliveries.clear()  # those of an attempt rolled back, if any
        visible = await _visible_customers(connection, scope, {r.customer_id for _, r in records})
        stored_lmt, owner = await _existing_jobs(connection, scope, {r.job_id for _, r in records})
        recorded_before = set(stored_lmt)

        final: dict[str, JobRecord] = {}
        applied: dict[str, list[int]] = {}
        for index, record in records:
            if record.customer_id not in visible:
                result.rejected.append(
                    Rejection(index, record.job_id, f"unknown customer {record.customer_id}")
                )
                continue
            key = _service_key(record)
            if owner.setdefault(record.job_id, key) != key:
                # The same words whatever the other job is and whoever may see it: its
                # customer may be outside this app's scope (docs/api.md, "jobId").
                result.rejected.append(Rejection(index, record.job_id, _TAKEN % record.job_id))
                continue
            latest_lmt = stored_lmt.get(record.job_id)
            if latest_lmt is not None and record.last_modify_time < latest_lmt:
                result.stale += 1
                continue
            stored_lmt[record.job_id] = record.last_modify_time
            final[record.job_id] = record
            applied.setdefault(record.job_id, []).append(index)

        if final:
            enabled = await self._enable_services(
                connection, scope, final.values(), visible, now=now
            )
            changed = {service[0] for service in enabled}
            # The reports need each recorded job's sort time before this write, read under
            # the row's lock so that no concurrent write slips in between. Only the jobs
            # found recorded above: a new one (most of a batch) has none, and one a
            # concurrent batch records meanwhile is recounted whole (outcomes.jobs_written).
            previous_sort = await outcomes.lock_recorded(
                connection, scope.partner_id, final.keys() & recorded_before
            )
            written, inserted = await _upsert_jobs(
                connection, scope, final.values(), recorded_before, now=now
            )
            # Not written: a concurrent batch recorded the jobId first, newer, or for
            # another service (the upsert leaves a row of another service alone).
            _, owner_now = await _existing_jobs(
                connection, scope, {job_id for job_id in final if job_id not in written}
            )
            for job_id, indexes in applied.items():
                if job_id in written:
                    result.stored += len(indexes)
                elif owner_now.get(job_id, owner[job_id]) != owner[job_id]:
                    result.rejected += [Rejection(i, job_id, _TAKEN % job_id) for i in indexes]
                else:  # a concurrent, newer write of the same job won
                    result.stale += len(indexes)
            # A service this batch enabled whose jobs all lost (their jobId taken by a
            # concurrent batch) goes again: in turn, the record would have been refused
            # before its service was made.
            await _disable_services(
                connection,
                scope.partner_id,
                enabled - {_service_key(final[job_id]) for job_id in written},
            )
            moved, recompute = await _update_latest(
                connection,
                scope,
                [final[job_id] for job_id in sorted(written)],
                recorded_before & written,
                now=now,
            )
            changed |= {service[0] for service in moved}
            for service in recompute:
                await _recompute_latest(connection, scope, service)
                changed.add(service[0])
            in_order = [final[job_id] for job_id in sorted(written)]
            # Alerts: the written jobs' events and incidents, committed with them (the
            # outbox of SPEC §10.5), once the services' latest jobs are current.
            result.deliveries = await incidents.record_job_events(
                connection, scope, in_order, now=now, claimed_here=claimed_here
            )
            # The reports' counts, once the services' rows are locked (store/outcomes.py).
            counted = await outcomes.jobs_written(
                connection,
                scope.partner_id,
                in_order,
                previous_sort=previous_sort,
                inserted=inserted,
                on_top=moved,
            )
            # Last, the rows every concurrent batch shares: the customers, locked from here
            # to the commit, and their days (outcomes.Counted). One UPDATE of the
            # customers for both those whose services changed (a new revision) and those
            # whose figures alone moved (a job reported late).
            await outcomes.move_days(
                connection,
                scope.partner_id,
                counted.moves,
                read_again=changed | counted.customers,
                revised=changed,
            )
        result.rejected.sort(key=lambda rejection: rejection.index)
        return result

    async def _enable_services(
        self,
        connection: AsyncConnection,
        scope: TenantScope,
        records: Iterable[JobRecord],
        created: dict[UUID, datetime],
        *,
        now: datetime,
    ) -> set[ServiceKey]:
        """A job's first record enables its backup service (a row for the history to
        refer to). Returns the services made. ``created``: each customer's creation
        time."""
        known = self._known
        wanted = {
            service
            for service in {
                (created[record.customer_id], *_service_key(record)) for record in records
            }
            if service not in known
        }
        if not wanted:
            return set()
        rows = [
            {
                "partner_id": scope.partner_id,
                **dict(zip(SERVICE_KEY, service, strict=True)),
                "enabled_at": now,
            }
            for service in _in_lock_order(key[1:] for key in wanted)
        ]
        inserted = await insert_rows(
            connection,
            backup_services,
            rows,
            lambda insert: insert.on_conflict_do_nothing().returning(
                backup_services.c.partner_id, *(backup_services.c[name] for name in SERVICE_KEY)
            ),
            new_only=["partner_id", *SERVICE_KEY],
        )
        added = {(created[c], c, t, m) for _, c, t, m in map(tuple, inserted)}
        # Those found there were committed; this transaction's own may yet roll back.
        for service in wanted - added:
            known.put(service, True)
        return {key[1:] for key in added}


async def _disable_services(
    connection: AsyncConnection, partner_id: UUID, services: set[ServiceKey]
) -> None:
    """Remove ``services``, made by this transaction and left without a job."""
    if services:
        await connection.execute(
            backup_services.delete().where(
                backup_services.c.partner_id == partner_id,
                tuple_(*(backup_services.c[name] for name in SERVICE_KEY)).in_(sorted(services)),
            )
        )


def _rank(record: JobRecord) -> tuple[datetime, str]:
    return latest_sort_key(record.start_time, record.last_modify_time, record.job_id)


def _later_or_same_job(excluded: Any) -> ColumnElement[bool]:
    """Guard of the latest-job upsert: never replace a later job by an earlier one.

    Under concurrent ingestion each transaction decides from its own snapshot; this
    condition, evaluated against the locked row, keeps the outcome the same as serial.
    """
    current = backup_services.c
    new_time, old_time = sort_time(excluded, LATEST), sort_time(current, LATEST)
    new_id = excluded[LATEST + "job_id"]
    old_id = current[LATEST + "job_id"]
    return or_(
        old_id.is_(None),
        and_(
            new_id == old_id,
            excluded[LATEST + "last_modify_time"] >= current[LATEST + "last_modify_time"],
        ),
        new_time > old_time,
        and_(new_time == old_time, new_id > old_id),
    )


async def _visible_customers(
    connection: AsyncConnection, scope: TenantScope, customer_ids: set[UUID]
) -> dict[UUID, datetime]:
    """The visible ones among ``customer_ids``, with their creation times."""
    if not customer_ids:
        return {}
    whole_partner = scope.conditions.client is None

    def build() -> Any:
        over = ScopeConditions.over(_SCOPE)
        conditions = ScopeConditions(over.partner, None) if whole_partner else over
        return keyed_statement(
            connection,
            [customers.c.id, customers.c.created_at],
            [conditions.allows(customers.c.partner_id, customers.c.id)],
            [customers.c.id],
        )

    statement = built((_visible_customers, whole_partner, connection.dialect.name), build)
    keys = keys_parameters(connection, 1, [(customer_id,) for customer_id in customer_ids])
    rows = await connection.execute(statement, {**scope.parameters(), **keys})
    return {row[0]: row[1] for row in rows}


async def _existing_jobs(
    connection: AsyncConnection, scope: TenantScope, job_ids: set[str]
) -> tuple[dict[str, datetime], dict[str, ServiceKey]]:
    stored_lmt: dict[str, datetime] = {}
    owner: dict[str, ServiceKey] = {}
    if not job_ids:
        return stored_lmt, owner
    statement = built(
        (_existing_jobs, connection.dialect.name),
        lambda: keyed_statement(
            connection,
            [
                jobs.c.job_id,
                jobs.c.last_modify_time,
                jobs.c.customer_id,
                jobs.c.job_type,
                jobs.c.job_module,
            ],
            [jobs.c.partner_id == _SCOPE[PARTNER_PARAMETER]],
            [jobs.c.job_id],
        ),
    )
    keys = keys_parameters(connection, 1, [(job_id,) for job_id in job_ids])
    rows = await connection.execute(statement, {PARTNER_PARAMETER: scope.partner_id, **keys})
    for job_id, lmt, customer_id, job_type, job_module in rows:
        stored_lmt[job_id] = lmt
        owner[job_id] = (customer_id, job_type, job_module)
    return stored_lmt, owner


#: The scope's bound parameters, for statements built once (:func:`.bulk.built`).
_SCOPE = {name: bindparam(name, type_=kind) for name, kind in SCOPE_PARAMETERS.items()}


def _service_key(record: JobRecord) -> ServiceKey:
    return (record.customer_id, record.job_type, record.job_module)


def _in_lock_order(keys: Iterable[ServiceKey]) -> list[ServiceKey]:
    # One lock order for every transaction, so concurrent batches never deadlock.
    return sorted(keys, key=lambda key: (key[0].int, key[1], key[2]))


async def _upsert_jobs(
    connection: AsyncConnection,
    scope: TenantScope,
    records: Iterable[JobRecord],
    recorded_before: set[str],
    *,
    now: datetime,
) -> tuple[set[str], set[str]]:
    """Write the records to history; returns the jobIds actually written, and those of
    them that were new (inserted, not updated)."""
    rows = []
    for record in sorted(records, key=lambda r: r.job_id):
        # A record's fields are the row's columns (JOB_FIELDS and the service's key).
        row = msgspec.structs.asdict(record)
        row["partner_id"] = scope.partner_id
        row["recorded_at"] = now
        rows.append(row)

    # PostgreSQL: a row this statement inserted has no xmax (an updated one has this
    # transaction's), which tells a new job from a concurrent writer's. SQLite: one writer.
    postgresql = connection.dialect.name == "postgresql"

    def upsert(insert: Any) -> Any:
        return insert.on_conflict_do_update(
            index_elements=["partner_id", "job_id"],
            set_={name: insert.excluded[name] for name in JOB_FIELDS if name != "job_id"},
            # A concurrent batch may have recorded the jobId for another service first:
            # that row stays its service's (the batch is told the jobId is taken).
            where=and_(
                jobs.c.last_modify_time <= insert.excluded.last_modify_time,
                *(jobs.c[name] == insert.excluded[name] for name in SERVICE_KEY),
            ),
        ).returning(jobs.c.job_id, _INSERTED[postgresql])

    written: set[str] = set()
    inserted: set[str] = set()
    answers: Sequence[Any] = (await insert_rows(connection, jobs, rows, upsert)).all()
    for job_id, new in answers:
        written.add(job_id)
        if new if postgresql else job_id not in recorded_before:
            inserted.add(job_id)
    return written, inserted


#: The history's upsert's "inserted, not updated" column, on PostgreSQL and on SQLite (a
#: value, not made per batch: the upsert is built once, :func:`.bulk.insert_rows`).
_INSERTED = {True: literal_column("xmax = 0", Boolean), False: literal(False)}


async def _update_latest(
    connection: AsyncConnection,
    scope: TenantScope,
    records: Sequence[JobRecord],
    updated: set[str],
    *,
    now: datetime,
) -> tuple[set[ServiceKey], list[ServiceKey]]:
    """Move each service's latest job forward to the best of ``records`` (written jobs);
    the upsert's guard keeps a later latest job where there is one.

    The services whose latest job moves also get their failures in a row and last success
    as the new job on top of the old latest makes them (exact when it is the one new job
    of the service: :func:`.outcomes.jobs_written` reads the others from history).

    Returns the services whose latest job changed, and the services whose latest job
    moved back in time: it was one of ``updated`` (jobs already recorded before this
    batch) and now starts earlier. Those are to be recomputed from history.
    """
    candidates: dict[ServiceKey, JobRecord] = {}
    updated_ids: dict[ServiceKey, set[str]] = {}
    for record in records:
        key = _service_key(record)
        if record.job_id in updated:
            updated_ids.setdefault(key, set()).add(record.job_id)
        best = candidates.get(key)
        if best is None or _rank(record) > _rank(best):
            candidates[key] = record
    if not candidates:
        return set(), []
    # Only a service whose latest job was updated can see its latest move back.
    current = await find(
        connection,
        [
            backup_services.c.customer_id,
            backup_services.c.job_type,
            backup_services.c.job_module,
            backup_services.c[LATEST + "job_id"],
            backup_services.c[LATEST + "start_time"],
            backup_services.c[LATEST + "last_modify_time"],
        ],
        [backup_services.c.partner_id == scope.partner_id],
        [backup_services.c.customer_id, backup_services.c.job_type, backup_services.c.job_module],
        list(updated_ids),
    )
    recompute: list[ServiceKey] = []
    for customer_id, job_type, job_module, latest_id, latest_start, latest_lmt in current:
        key = (customer_id, job_type, job_module)
        best = candidates[key]
        if latest_id in updated_ids[key] and _rank(best) < latest_sort_key(
            latest_start, latest_lmt, latest_id
        ):
            recompute.append(key)
            del candidates[key]

    if not candidates:
        return set(), recompute
    # The latest jobs' values are the rows just written: read from there, in lock order.
    upsert = built((_update_latest, connection.dialect.name), lambda: _latest_upsert(connection))
    params = {
        PARTNER_PARAMETER: scope.partner_id,
        _ENABLED_AT: now,
        **keys_parameters(
            connection, 1, [(candidates[key].job_id,) for key in _in_lock_order(candidates)]
        ),
    }
    moved = await connection.execute(upsert, params)
    return {(c, t, m) for c, t, m in moved}, recompute


_ENABLED_AT = "latest_enabled_at"


def _latest_upsert(connection: AsyncConnection) -> Any:
    """The services' latest jobs' upsert from the rows of the history keyed by jobId
    (:func:`.bulk.keyed_statement`), built once (its values are parameters)."""
    source = keyed_statement(
        connection,
        [
            *(jobs.c[name] for name in ("partner_id", *SERVICE_KEY)),
            bindparam(_ENABLED_AT, type_=UtcDateTime()).label("enabled_at"),
            *(jobs.c[name].label(LATEST + name) for name in JOB_FIELDS),
        ],
        [jobs.c.partner_id == _SCOPE[PARTNER_PARAMETER]],
        [jobs.c.job_id],
    )
    names = ["partner_id", *SERVICE_KEY, "enabled_at", *(LATEST + name for name in JOB_FIELDS)]
    insert = dialect_insert(connection, backup_services)
    return (
        insert.from_select(names, source)
        .on_conflict_do_update(
            index_elements=["partner_id", *SERVICE_KEY],
            set_={
                **{LATEST + name: insert.excluded[LATEST + name] for name in JOB_FIELDS},
                **outcomes.on_top_of_latest(insert.excluded),
            },
            where=_later_or_same_job(insert.excluded),
        )
        .returning(*(backup_services.c[name] for name in SERVICE_KEY))
    )


async def _recompute_latest(
    connection: AsyncConnection, scope: TenantScope, service: ServiceKey
) -> None:
    customer_id, job_type, job_module = service
    this_service = (
        backup_services.c.partner_id == scope.partner_id,
        backup_services.c.customer_id == customer_id,
        backup_services.c.job_type == job_type,
        backup_services.c.job_module == job_module,
    )
    # Locked first: a concurrent batch's newer job, written after the history is read
    # below, then waits for this update and applies its own after it.
    await connection.execute(
        select(backup_services.c.job_type).where(*this_service).with_for_update()
    )
    # The best started job and the best one not started, each read newest first by an
    # index (not every run of the service sorted by an expression); the later is latest.
    service_jobs = (
        jobs.c.partner_id == scope.partner_id,
        jobs.c.customer_id == customer_id,
        jobs.c.job_type == job_type,
        jobs.c.job_module == job_module,
    )
    fields = [jobs.c[name] for name in JOB_FIELDS]
    started = select(*fields).where(*service_jobs, jobs.c.start_time.is_not(None))
    not_started = select(*fields).where(*service_jobs, jobs.c.start_time.is_(None))
    tops = [
        row
        for statement in (
            started.order_by(jobs.c.start_time.desc(), jobs.c.job_id.desc()),
            not_started.order_by(jobs.c.last_modify_time.desc(), jobs.c.job_id.desc()),
        )
        if (row := (await connection.execute(statement.limit(1))).first()) is not None
    ]
    top = max(
        tops, key=lambda row: latest_sort_key(row.start_time, row.last_modify_time, row.job_id)
    )
    await connection.execute(
        update(backup_services)
        .where(*this_service)
        .values({LATEST + name: top._mapping[name] for name in JOB_FIELDS})
    )
