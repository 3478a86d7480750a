"""Retention: job history older than the window goes, a few services at a time, and
so does the alerts' history.

>>> # removed = await remove_history(db, before=now - timedelta(days=90))
>>> # removed = await remove_alert_history(db, before=now - timedelta(days=90))

A job is history to remove when it started before the cutoff (or, never started, was last
reported before it), unless it is its service's latest job: ``backup_services`` keeps a
copy of that one, and the pages read the copy. Services are visited in key order, a
chunk per transaction; for each, the old jobs are a range of the index the service's
history is read by (``partner, customer, type, module, start_time``), so a run costs
in proportion to what it removes and to the number of services, never to the history
kept, and adds no index for ingestion to maintain.

The alerts' history (:func:`remove_alert_history`): webhook deliveries made before the
cutoff and done with (delivered, failed or skipped; a pending one stays, whatever its
age), with their attempts; then the events made before it that no delivery names any
more and whose incident is not open (stale detection asks an open incident's events
whether it was told, and an open incident's failed job may be reported again: its event
is what makes that no new one); then the incidents closed before it. Each is one
statement over its table: the window bounds these tables, and a round reads them whole
rather than adding an index for every event and delivery to maintain.

With several API processes (or hosts) each runs the loop; on PostgreSQL an advisory lock
lets one run at a time, the others skip that round.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    func,
    select,
    text,
    tuple_,
)

from backupjobs.model.alerts import DeliveryStatus
from backupjobs.store import outcomes
from backupjobs.store.database import Database
from backupjobs.store.schema import (
    JOB_SORT_TIME,
    alert_events,
    alert_incidents,
    backup_services,
    jobs,
    webhook_attempts,
    webhook_deliveries,
)

#: Services whose old jobs one transaction removes.
SERVICES_PER_CHUNK = 500
#: Time between two runs of the background loop.
RUN_EVERY = timedelta(hours=1)
_RETENTION_LOCK = 0x72657461696E  # "retain": any constant shared by every process
_log = structlog.get_logger("backupjobs.retention")

_SERVICE_KEY = (
    backup_services.c.partner_id,
    backup_services.c.customer_id,
    backup_services.c.job_type,
    backup_services.c.job_module,
)
_JOB_SERVICE = (jobs.c.partner_id, jobs.c.customer_id, jobs.c.job_type, jobs.c.job_module)


def _chunk(after: tuple[Any, ...] | None) -> Any:
    """The keys of the next chunk of services, after key ``after``."""
    services = select(*_SERVICE_KEY).order_by(*_SERVICE_KEY).limit(SERVICES_PER_CHUNK)
    if after is not None:
        services = services.where(tuple_(*_SERVICE_KEY) > tuple_(*after))
    return services


def _not_latest() -> ColumnElement[bool]:
    """The job is not its service's latest (a lookup by key per job: never a join that
    reads every service)."""
    latest = (
        select(backup_services.c.latest_job_id)
        .where(*(s == j for s, j in zip(_SERVICE_KEY, _JOB_SERVICE, strict=True)))
        .scalar_subquery()
    )
    return jobs.c.job_id != func.coalesce(latest, "")


async def remove_history(db: Database, *, before: datetime) -> int:
    """Remove the jobs that are history before ``before``; the number removed."""
    removed = 0
    after: tuple[Any, ...] | None = None
    # Two conditions, so that each is a range of the service index (an OR of them is not).
    old = (
        jobs.c.start_time < before,
        and_(jobs.c.start_time.is_(None), jobs.c.last_modify_time < before),
    )
    while True:
        async with db.write() as connection:
            keys = (await connection.execute(_chunk(after))).all()
            if not keys:
                return removed
            # The chunk as ORDER BY ... LIMIT: read from the key's index, whatever the
            # statistics say (as a range, it may be read by scanning every service).
            services = tuple_(*_JOB_SERVICE).in_(_chunk(after))
            gone: dict[UUID, list[tuple[UUID, int, int, datetime]]] = {}
            for condition in old:
                done = await connection.execute(
                    delete(jobs)
                    .where(services, condition, _not_latest())
                    .returning(*_JOB_SERVICE, JOB_SORT_TIME)
                )
                for partner_id, *job in done:
                    gone.setdefault(partner_id, []).append(tuple(job))
            for partner_id, jobs_gone in gone.items():
                removed += len(jobs_gone)
                # The reports' counts, in the same transaction (store/outcomes.py).
                await outcomes.jobs_removed(connection, partner_id, jobs_gone)
            after = tuple(keys[-1])


async def remove_alert_history(db: Database, *, before: datetime) -> int:
    """Remove the alerts' history before ``before`` (module docstring); the number of
    deliveries, events and incidents removed."""
    d, e, i = webhook_deliveries.c, alert_events.c, alert_incidents.c
    done_with = and_(d.status != DeliveryStatus.PENDING.value, d.created_at < before)
    removed = 0
    async with db.write() as connection:
        await connection.execute(
            delete(webhook_attempts).where(
                tuple_(webhook_attempts.c.partner_id, webhook_attempts.c.delivery_id).in_(
                    select(d.partner_id, d.id).where(done_with)
                )
            )
        )
        removed += (await connection.execute(delete(webhook_deliveries).where(done_with))).rowcount
    async with db.write() as connection:
        named = exists().where(d.partner_id == e.partner_id, d.event_id == e.id)
        open_incident = exists().where(
            i.partner_id == e.partner_id, i.id == e.incident_id, i.closed_at.is_(None)
        )
        done = await connection.execute(
            delete(alert_events).where(e.created_at < before, ~named, ~open_incident)
        )
        removed += done.rowcount
    async with db.write() as connection:
        done = await connection.execute(delete(alert_incidents).where(i.closed_at < before))
        removed += done.rowcount
    return removed


async def _remove(db: Database, before: datetime) -> int:
    return await remove_history(db, before=before) + await remove_alert_history(db, before=before)


async def run_once(db: Database, days: int, *, now: datetime | None = None) -> int | None:
    """One retention round: the rows removed (jobs, and the alerts' deliveries, events and
    incidents); None when another process holds the round (PostgreSQL)."""
    before = (now or datetime.now(UTC)) - timedelta(days=days)
    if db.is_sqlite:
        return await _remove(db, before)
    async with db.engine.connect() as connection:
        locked = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _RETENTION_LOCK}
        )
        if not locked:
            return None
        try:
            return await _remove(db, before)
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": _RETENTION_LOCK}
            )
            await connection.commit()


async def keep_days(db: Database, days: int, *, every: timedelta = RUN_EVERY) -> None:
    """Run retention every ``every`` until cancelled; errors are logged, not fatal."""
    while True:
        try:
            started = datetime.now(UTC)
            removed = await run_once(db, days, now=started)
            if removed:
                _log.info(
                    "retention",
                    removed=removed,
                    days=days,
                    seconds=round((datetime.now(UTC) - started).total_seconds(), 1),
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("retention failed; retrying at the next round")
        await asyncio.sleep(every.total_seconds())
