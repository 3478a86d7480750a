"""Retention removes history older than the window, never a service's latest job, one
process at a time on PostgreSQL; the service's background round starts with the API."""

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import select, text

from backupjobs.api import build_application
from backupjobs.model import parse_record
from backupjobs.store import retention
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import jobs
from backupjobs.store.scope import TenantScope
from tests.world import job, make_tenant

NOW = datetime.now(UTC)


def run(customer, job_id, days_ago, **fields):
    start = NOW - timedelta(days=days_ago)
    end = start + timedelta(hours=1)
    values = {
        "startTime": start.isoformat(),
        "endTime": end.isoformat(),
        "lastModifyTime": end.isoformat(),
        **fields,
    }
    return parse_record(msgspec.json.encode(job(customer, job_id, **values)))


async def store(db, tenant, records):
    async with db.write() as connection:
        await Ingestor(db).ingest(
            connection,
            TenantScope(tenant.partner_id, tenant.client_id),
            list(enumerate(records)),
            now=NOW,
        )


async def history(db, tenant):
    async with db.read() as connection:
        rows = await connection.scalars(
            select(jobs.c.job_id).where(jobs.c.partner_id == tenant.partner_id)
        )
        return set(rows)


async def test_old_history_goes_and_every_latest_job_stays(db):
    tenant = await make_tenant(db, customers=2)
    c, d = tenant.customers
    await store(db, tenant, [
        run(c, "c-old", 40), run(c, "c-recent", 5),
        # The only job of its service is also its latest: it stays, however old.
        run(c, "c-lonely-old", 60, jobModule=302),
        # Never started: judged by when it was last reported (the later jobId is the
        # latest of two jobs not started).
        run(c, "c-pending-a-old", 0, jobModule=305, startTime=None, endTime=None, status=6,
            lastModifyTime=(NOW - timedelta(days=45)).isoformat()),
        run(c, "c-pending-b-new", 0, jobModule=305, startTime=None, endTime=None, status=6),
        run(d, "d-old-1", 50), run(d, "d-old-2", 40), run(d, "d-old-latest", 35),
    ])  # fmt: skip
    before = await history(db, tenant)
    removed = await retention.remove_history(db, before=NOW - timedelta(days=30))
    kept = await history(db, tenant)
    assert before - kept == {"c-old", "c-pending-a-old", "d-old-1", "d-old-2"}
    assert removed >= 4  # other tests' tenants share the database
    assert kept == {"c-recent", "c-lonely-old", "c-pending-b-new", "d-old-latest"}
    # Nothing more to remove: a second round removes none of this tenant's jobs.
    await retention.remove_history(db, before=NOW - timedelta(days=30))
    assert await history(db, tenant) == kept


async def test_retention_visits_every_service_chunk(db, monkeypatch):
    monkeypatch.setattr(retention, "SERVICES_PER_CHUNK", 2)
    tenant = await make_tenant(db, customers=3)
    records = []
    for customer in tenant.customers:
        for module in (302, 303, 304):
            records += [
                run(customer, f"{customer.hex[:8]}-{module}-{age}", age, jobModule=module)
                for age in (1, 40, 41)
            ]
    await store(db, tenant, records)
    await retention.remove_history(db, before=NOW - timedelta(days=30))
    assert await history(db, tenant) == {
        f"{customer.hex[:8]}-{module}-1"
        for customer in tenant.customers
        for module in (302, 303, 304)
    }


@pytest.mark.postgresql_only
async def test_one_process_at_a_time_on_postgresql(db):
    async with db.engine.connect() as holder:
        await holder.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": retention._RETENTION_LOCK}
        )
        assert await retention.run_once(db, 30) is None
        await holder.execute(
            text("SELECT pg_advisory_unlock(:key)"), {"key": retention._RETENTION_LOCK}
        )
        await holder.commit()
    assert await retention.run_once(db, 30) is not None


async def test_the_service_removes_history_in_the_background(db, settings):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(db, tenant, [run(c, "bg-old", 40), run(c, "bg-new", 1)])
    app = build_application(settings.with_changes(retention_days=30))
    async with app.lifespan():  # the first round runs as the service starts
        for _ in range(100):
            if await history(db, tenant) == {"bg-new"}:
                break
            await asyncio.sleep(0.05)
    assert await history(db, tenant) == {"bg-new"}


async def test_the_service_keeps_everything_by_default(db, settings):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(db, tenant, [run(c, "default-old", 4000), run(c, "default-new", 1)])
    app = build_application(settings)
    async with app.lifespan():
        await asyncio.sleep(0.2)
    assert await history(db, tenant) == {"default-old", "default-new"}
