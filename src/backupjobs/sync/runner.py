"""One run of one upstream.

>>> # outcome = await run_upstream(db, ingestor, upstream, SyncOptions(concurrency=4))

A run takes the upstream's lease (one process at a time; a holder on this host whose
process is gone is replaced at once, another expires after ``SyncOptions.lease``), lists
the upstream's customers (v3 ``customers/batch``, every page), creates or updates the
local customers with the same ids, then reads each customer's job rows (v3
``avpt-products/jobs/batch``, every page) a few customers at a time. A job not stored
yet, or stored with an earlier lastModifyTime, goes through ingestion; one seen again
unchanged is not written at all. A row with no job enables its service.

What fails for one customer (an error answer once the retries are spent, a malformed
answer, a row that is not a valid record) is recorded against that customer and the run
goes on: it ends ``partial``. A run that cannot list the customers ends ``failed``. A run
whose process dies stays ``running`` until the next run takes the lease and marks it
``interrupted``; that run reads everything again, and what the dead one stored is
unchanged for it, so nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model import CustomerProfile, IngestResult, JobRecord, RecordError
from backupjobs.sdk import (
    AsyncClient,
    BackupJobsError,
    ClientCertificate,
    ClientSecret,
    Credential,
    Customer,
    Job,
    Retry,
)
from backupjobs.sdk.retry import RETRY_STATUSES, SERVER_ERRORS
from backupjobs.settings import Settings
from backupjobs.store import directory, upstreams
from backupjobs.store.database import Database
from backupjobs.store.directory import CustomerChanges
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.scope import TenantScope
from backupjobs.store.upstreams import (
    FAILED,
    PARTIAL,
    SUCCEEDED,
    RunCounts,
    Upstream,
)
from backupjobs.sync.rows import customer_profile, job_record, service_key

_log = structlog.get_logger("backupjobs.sync")

#: Retries of one upstream request: 429 (honouring Retry-After), 5xx, no answer.
SYNC_RETRY = Retry(attempts=6, backoff=1.0, max_backoff=30.0, max_wait=300.0,
                   statuses=RETRY_STATUSES | SERVER_ERRORS)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How a run reads its upstream."""

    #: Customers whose jobs are read at the same time.
    concurrency: int = 4
    #: Rows asked per page (the v3 API's largest is 100).
    page_size: int = 100
    #: Rows read (of several customers) stored in one transaction.
    batch_rows: int = 1000
    #: Seconds one upstream request may take before it is tried again.
    timeout: float = 30.0
    retry: Retry = SYNC_RETRY
    #: How long the lease holds without renewal: another process takes over a run whose
    #: process died (on another host) after this.
    lease: timedelta = timedelta(seconds=60)
    #: A transport for the upstream (tests); None: the network.
    transport: httpx.AsyncBaseTransport | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncOptions:
        """The options ``BACKUPJOBS_SYNC_*`` set."""
        return cls(
            concurrency=settings.sync_concurrency,
            timeout=settings.sync_timeout,
            batch_rows=settings.sync_batch_rows,
        )

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"sync concurrency must be at least 1, not {self.concurrency}")
        if not 1 <= self.page_size <= 100:
            raise ValueError(f"sync page size must be 1 to 100, not {self.page_size}")
        if self.batch_rows < 1:
            raise ValueError(f"sync batch rows must be at least 1, not {self.batch_rows}")
        if not self.timeout > 0:
            raise ValueError("sync timeout must be a number of seconds above 0")


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a run did; ``busy`` names the lease holder when another process runs it."""

    upstream: Upstream
    run_id: UUID | None
    status: str
    counts: RunCounts
    started_at: datetime
    ended_at: datetime
    busy: str | None = None


#: Called with (customers done, customers listed) as a run goes.
Progress = Callable[[int, int], None]


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str | None) -> bool:
    """True if ``owner`` was a process of this host that no longer exists."""
    if owner is None:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def credential(upstream: Upstream) -> Credential:
    """The upstream's credential, read from its files now (never stored)."""
    if upstream.secret_file:
        path = Path(upstream.secret_file)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"cannot read the secret file {path}: {error.strerror}") from None
        if not secret:
            raise ValueError(f"the secret file {path} is empty")
        return ClientSecret(upstream.client_id, secret)
    if upstream.cert_file and upstream.key_file:
        try:
            return ClientCertificate.from_files(
                upstream.client_id, upstream.key_file, upstream.cert_file
            )
        except (OSError, BackupJobsError, ValueError) as error:
            raise ValueError(f"cannot use the certificate or key file: {error}") from None
    raise ValueError(f"upstream {upstream.name!r} has neither a secret file nor a certificate")


class _Run:
    """The state of one run in progress."""

    def __init__(
        self,
        db: Database,
        ingestor: Ingestor,
        upstream: Upstream,
        run_id: UUID,
        options: SyncOptions,
        progress: Progress | None,
    ) -> None:
        self.db = db
        self.ingestor = ingestor
        self.upstream = upstream
        self.run_id = run_id
        self.options = options
        self.progress = progress
        self.scope = TenantScope.whole_partner(upstream.partner_id)
        self.counts = RunCounts()
        self.requests = 0
        self.customers_done = 0
        self.customers_total = 0
        #: Customers read and not stored yet, with their rows.
        self.pending: list[tuple[UUID, list[Job]]] = []
        self.pending_rows = 0
        self.flushing = asyncio.Lock()

    def add(self, **changes: int) -> None:
        self.counts = replace(
            self.counts,
            **{name: getattr(self.counts, name) + value for name, value in changes.items()},
        )

    async def error(self, customer_id: UUID | None, message: str) -> None:
        self.add(errors=1)
        seq = self.counts.errors
        _log.warning(
            "sync error",
            upstream=self.upstream.name,
            customer=str(customer_id) if customer_id else None,
            error=message,
        )
        async with self.db.write() as connection:
            await upstreams.record_error(
                connection,
                self.upstream.partner_id,
                self.run_id,
                seq,
                customer_id,
                message,
                now=datetime.now(UTC),
            )

    async def save(self, *, status: str = upstreams.RUNNING, ended: datetime | None = None) -> None:
        counts = replace(self.counts, requests=self.requests)
        async with self.db.write() as connection:
            await upstreams.record_progress(
                connection,
                self.upstream.partner_id,
                self.run_id,
                counts,
                status=status,
                ended_at=ended,
            )

    async def run(self) -> str:
        try:
            found = credential(self.upstream)
        except ValueError as error:
            await self.error(None, str(error))
            return FAILED
        hooks = {"request": [self._count_request]}
        async with (
            httpx.AsyncClient(
                timeout=self.options.timeout, transport=self.options.transport, event_hooks=hooks
            ) as http,
            AsyncClient(
                self.upstream.base_url,
                found,
                token_url=self.upstream.token_url,
                retry=self.options.retry,
                http_client=http,
            ) as client,
        ):
            try:
                listed = [
                    customer
                    async for page in client.v3.customers(page_size=self.options.page_size).pages()
                    for customer in page.items
                ]
            except (BackupJobsError, httpx.HTTPError) as error:
                await self.error(None, f"listing the upstream's customers: {_describe(error)}")
                return FAILED
            local = await self._customers(listed)
            self.customers_total = len(local)
            self._report()
            queue: asyncio.Queue[UUID] = asyncio.Queue()
            for customer_id in local:
                queue.put_nowait(customer_id)
            workers = min(self.options.concurrency, len(local)) or 1
            await asyncio.gather(*(self._worker(client, queue) for _ in range(workers)))
            await self.flush()
        return SUCCEEDED if self.counts.errors == 0 else PARTIAL

    async def _count_request(self, request: httpx.Request) -> None:
        self.requests += 1

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.customers_done, self.customers_total)

    async def _customers(self, listed: list[Customer]) -> list[UUID]:
        """Create or update the local customers; the ids whose jobs to read. A customer
        id another partner has here is an error for that customer, and left alone."""
        partner_id = self.upstream.partner_id
        now = datetime.now(UTC)
        ours: list[UUID] = []
        refused: list[tuple[UUID | None, str]] = []
        seen: set[UUID] = set()
        async with self.db.write() as connection:
            for customer in listed:
                try:
                    customer_id = UUID(customer.id)
                except ValueError:
                    refused.append((None, f"customer id {customer.id!r} is not a UUID"))
                    continue
                if customer_id in seen:
                    continue
                seen.add(customer_id)
                # Names here are at most 200 characters; a longer one is cut.
                name = (customer.name or "").strip()[:200].strip() or f"Customer {customer_id}"
                profile = customer_profile(customer)
                try:
                    owner = await directory.customer_partner(connection, customer_id)
                except directory.NotFoundError:
                    owner = None
                if owner is not None and owner != partner_id:
                    # Said without naming the other partner: it is none of this one's.
                    refused.append((customer_id, "a customer with this id already exists here"))
                    continue
                try:
                    if owner is None:
                        await directory.create_customer(
                            connection,
                            partner_id,
                            name,
                            customer_id=customer_id,
                            profile=profile,
                            now=now,
                        )
                    else:
                        await _follow(connection, customer_id, name, profile)
                except ValueError as error:  # a field this service does not take
                    refused.append((customer_id, f"its fields: {error}"))
                    continue
                ours.append(customer_id)
            await upstreams.customers_seen(connection, self.upstream, ours, now=now)
            await upstreams.mark_gone(connection, self.upstream, seen, now=now)
        for refused_id, message in refused:
            await self.error(refused_id, message)
        self.add(customers=len(ours))
        return ours

    async def _worker(self, client: AsyncClient, queue: asyncio.Queue[UUID]) -> None:
        while not queue.empty():
            customer_id = queue.get_nowait()
            try:
                await self._customer_jobs(client, customer_id)
            except (BackupJobsError, httpx.HTTPError) as error:
                await self.error(customer_id, f"reading its jobs: {_describe(error)}")
            self.customers_done += 1
            self._report()

    async def _customer_jobs(self, client: AsyncClient, customer_id: UUID) -> None:
        jobs = [
            job
            async for page in client.v3.jobs(
                str(customer_id), page_size=self.options.page_size
            ).pages()
            for job in page.items
        ]
        self.add(rows_read=len(jobs))
        self.pending.append((customer_id, jobs))
        self.pending_rows += len(jobs)
        if self.pending_rows >= self.options.batch_rows:
            await self.flush()

    async def flush(self) -> None:
        """Store the customers' rows read so far, in one transaction: the services with no
        job enabled, then the jobs new or changed through ingestion."""
        async with self.flushing:
            batch, self.pending, self.pending_rows = self.pending, [], 0
            services: set[tuple[UUID, int, int]] = set()
            records: list[JobRecord] = []
            owners: list[UUID] = []  # the customer of each record
            problems: list[tuple[UUID, str]] = []
            for customer_id, jobs in batch:
                for job in jobs:
                    try:
                        services.add((customer_id, *service_key(job)))
                        if job.has_run:
                            records.append(job_record(job))
                            owners.append(customer_id)
                    except RecordError as error:
                        problems.append((customer_id, str(error)))
            stored, fresh, result = await self.db.transaction(
                lambda connection: self._store(connection, services, records)
            )
            rejected = {rejection.index for rejection in result.rejected}
            written = [record for index, record in fresh if index not in rejected]
            self.add(
                jobs_new=sum(record.job_id not in stored for record in written),
                jobs_updated=sum(record.job_id in stored for record in written),
            )
            problems += [
                (owners[rejection.index], f"job {rejection.job_id}: {rejection.error}")
                for rejection in result.rejected
            ]
        for customer_id, message in problems:
            await self.error(customer_id, message)

    async def _store(
        self,
        connection: AsyncConnection,
        services: set[tuple[UUID, int, int]],
        records: list[JobRecord],
    ) -> tuple[dict[str, datetime], list[tuple[int, JobRecord]], IngestResult]:
        now = datetime.now(UTC)
        await upstreams.add_services(connection, self.scope, services, now=now)
        stored = await upstreams.stored_modify_times(
            connection, self.scope, {record.job_id for record in records}
        )
        # Unchanged (same lastModifyTime) is not written at all.
        fresh = [
            (index, record)
            for index, record in enumerate(records)
            if record.job_id not in stored or stored[record.job_id] < record.last_modify_time
        ]
        if not fresh:
            return stored, fresh, IngestResult()
        result = await self.ingestor.ingest(connection, self.scope, fresh, now=now)
        return stored, fresh, result


async def _follow(
    connection: AsyncConnection, customer_id: UUID, name: str, profile: CustomerProfile
) -> None:
    """Update the local customer's fields that differ from the upstream's."""
    info = await directory.describe_customer(connection, customer_id)
    wanted: dict[str, Any] = {
        "name": name,
        "owner_email": profile.owner_email,
        "country_or_region": profile.country_or_region,
        "management_mode": profile.management_mode,
        "tenants": profile.tenants,
    }
    changed = {field: value for field, value in wanted.items() if getattr(info, field) != value}
    if set(info.tenants) == set(profile.tenants):  # kept in another order here
        changed.pop("tenants", None)
    if changed:
        await directory.update_customer(connection, customer_id, CustomerChanges(**changed))


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def run_upstream(
    db: Database,
    ingestor: Ingestor,
    upstream: Upstream,
    options: SyncOptions | None = None,
    *,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run ``upstream`` once now, unless another process holds its lease (then the
    outcome's ``busy`` names it and nothing is done)."""
    options = options or SyncOptions()
    owner = _owner()
    started = datetime.now(UTC)
    async with db.write() as connection:
        taken = await upstreams.take_lease(
            connection, upstream, owner, now=started, until=started + options.lease
        )
        if not taken:
            holder, _ = await upstreams.lease_holder(connection, upstream)
            if _dead_here(holder):
                taken = await upstreams.take_lease(
                    connection,
                    upstream,
                    owner,
                    now=started,
                    until=started + options.lease,
                    replacing=holder,
                )
        if not taken:
            return RunOutcome(
                upstream, None, "busy", RunCounts(), started, started, busy=holder or "?"
            )
        run_id = await upstreams.start_run(connection, upstream, now=started)
    _log.info("sync run started", upstream=upstream.name, run=str(run_id))
    run = _Run(db, ingestor, upstream, run_id, options, progress)
    keeper = asyncio.create_task(_keep_lease(db, run, owner, options.lease))
    status = FAILED
    try:
        status = await run.run()
    except asyncio.CancelledError:
        status = upstreams.INTERRUPTED
        raise
    except Exception as error:
        _log.exception("sync run failed", upstream=upstream.name)
        await _shielded(run.error(None, f"the run stopped: {_describe(error)}"))
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        ended = datetime.now(UTC)
        await _shielded(_finish(db, run, owner, status, ended))
    _log.info(
        "sync run ended",
        upstream=upstream.name,
        run=str(run_id),
        status=status,
        customers=run.counts.customers,
        rows=run.counts.rows_read,
        new=run.counts.jobs_new,
        updated=run.counts.jobs_updated,
        errors=run.counts.errors,
        requests=run.requests,
    )
    return RunOutcome(
        upstream, run_id, status, replace(run.counts, requests=run.requests), started, ended
    )


async def _shielded(work: Awaitable[None]) -> None:
    """Bookkeeping that must end even when the run is cancelled (shutdown)."""
    await asyncio.shield(asyncio.ensure_future(work))


async def _finish(db: Database, run: _Run, owner: str, status: str, ended: datetime) -> None:
    await run.save(status=status, ended=ended)
    async with db.write() as connection:
        await upstreams.release_lease(connection, run.upstream, owner)


async def _keep_lease(db: Database, run: _Run, owner: str, lease: timedelta) -> None:
    """Renew the lease (and save the counts so far) a few times per lease period."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 4)
        now = datetime.now(UTC)
        try:
            async with db.write() as connection:
                await upstreams.take_lease(
                    connection, run.upstream, owner, now=now, until=now + lease
                )
            await run.save()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("renewing the sync lease failed; trying again")
