"""The service pages and ingestion at the store: each page read asks the database, pages
remembered by digest never go stale, concurrent reads of different tenants stay apart,
and concurrent batches over the same services end as if they had run one after another."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import select

from backupjobs.model import JobRecord, parse_record
from backupjobs.store import jobs as job_store
from backupjobs.store.schema import customers, jobs
from backupjobs.store.scope import TenantScope
from tests.world import add_app, enable, job, make_tenant

START = datetime(2025, 9, 1, 3, tzinfo=UTC)


def record(customer, job_id, **fields):
    return parse_record(msgspec.json.encode(job(customer, job_id, **fields)))


def nightly(customer, module, day, **fields):
    start = START + timedelta(days=day)
    return record(
        customer,
        f"J-{customer.hex[:6]}-{module}-{day}",
        jobModule=module,
        startTime=start.isoformat(),
        endTime=(start + timedelta(minutes=30)).isoformat(),
        lastModifyTime=(start + timedelta(minutes=30)).isoformat(),
        **fields,
    )


async def store(db, tenant, records):
    async with db.write() as connection:
        return await job_store.ingest(
            connection, scope(tenant), list(enumerate(records)), now=datetime.now(UTC)
        )


def scope(tenant):
    return TenantScope(tenant.partner_id, tenant.client_id)


async def page(db, tenant, customer, **filters):
    return await job_store.service_page(db, scope(tenant), customer, **filters)


async def test_a_changed_service_is_read_again(db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(db, tenant, [nightly(c, 302, 0), nightly(c, 304, 0)])
    first = await page(db, tenant, c)
    assert [row.job_id for row in first.rows] == [f"J-{c.hex[:6]}-302-0", f"J-{c.hex[:6]}-304-0"]
    assert (await page(db, tenant, c)).rows is first.rows  # unchanged: the same rows
    await store(db, tenant, [nightly(c, 304, 1, status=3)])
    second = await page(db, tenant, c)
    assert [(row.job_id, row.status) for row in second.rows] == [
        (f"J-{c.hex[:6]}-302-0", 2),
        (f"J-{c.hex[:6]}-304-1", 3),
    ]
    # The same job reported again with the same lastModifyTime and new content applies,
    # and shows.
    await store(db, tenant, [nightly(c, 304, 1, status=4)])
    assert (await page(db, tenant, c)).rows[1].status == 4
    await enable(db, c, 7, 308)
    assert [row.job_module for row in (await page(db, tenant, c)).rows] == [302, 304, 308]


async def test_pages_are_cut_from_the_services(db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    modules = [302, 303, 304, 305, 308]
    await store(db, tenant, [nightly(c, m, 0) for m in modules])
    for offset, limit in [(0, 100), (0, 2), (2, 2), (4, 2), (5, 2), (2**53, 100)]:
        cut = await page(db, tenant, c, offset=offset, limit=limit)
        assert cut.total == 5
        assert [row.job_module for row in cut.rows] == modules[offset : offset + limit]
    filtered = await page(db, tenant, c, job_module=304)
    assert (filtered.total, [row.job_module for row in filtered.rows]) == (1, [304])
    assert (await page(db, tenant, c, job_type=11)).total == 0


async def test_services_with_the_same_history_in_two_customers_stay_apart(db):
    tenant = await make_tenant(db)
    c, d = tenant.customers
    await store(db, tenant, [nightly(c, 302, 0)])
    await enable(db, d, 7, 302)
    assert (await page(db, tenant, c)).rows[0].job_id is not None
    assert (await page(db, tenant, d)).rows[0].job_id is None


async def test_concurrent_reads_of_many_tenants_stay_apart(db):
    tenants = [await make_tenant(db, customers=3) for _ in range(4)]
    scoped = await add_app(db, tenants[0], app_customers=[0])
    for tenant in tenants:
        await store(db, tenant, [nightly(c, 302, 0) for c in tenant.customers])
    calls = []
    for tenant in [*tenants, scoped]:
        for other in tenants:
            for customer in other.customers:
                calls.append((tenant, customer))
    calls *= 3
    pages = await asyncio.gather(*(page(db, tenant, c) for tenant, c in calls))
    for (tenant, customer), found in zip(calls, pages, strict=True):
        visible = customer in tenant.customers and (
            tenant is not scoped or customer == scoped.customers[0]
        )
        if visible:
            assert found.rows[0].job_id == f"J-{customer.hex[:6]}-302-0"
        else:
            assert found is None
    assert await page(db, tenants[0], uuid.uuid4()) is None


async def test_a_customers_revision_changes_with_its_services_only(db):
    tenant = await make_tenant(db)
    c, d = tenant.customers

    async def revisions():
        async with db.read() as connection:
            rows = await connection.execute(
                select(customers.c.id, customers.c.services_revision).where(
                    customers.c.id.in_([c, d])
                )
            )
            return dict(rows.all())

    seen = [await revisions()]
    await store(db, tenant, [nightly(c, 302, 0)])
    seen.append(await revisions())
    await store(db, tenant, [nightly(c, 302, 0)])  # the same record again: applied anew
    seen.append(await revisions())
    await store(db, tenant, [nightly(c, 302, -5)])  # an older job: the latest stays
    seen.append(await revisions())
    await enable(db, c, 7, 308)  # a service that has not run yet
    seen.append(await revisions())
    assert len({revision[c] for revision in seen}) == 4
    assert seen[3][c] == seen[2][c]
    assert len({revision[d] for revision in seen}) == 1


@pytest.mark.postgresql_only
async def test_concurrent_batches_over_the_same_services_end_as_serial(db):
    tenant = await make_tenant(db, customers=6)
    modules = [302, 303, 304, 305]
    days = range(8)
    batches = [[nightly(c, m, day) for c in tenant.customers for m in modules] for day in days]
    # Each batch a day of every service, in a different order, all at once.
    for position, batch in enumerate(batches):
        batch.sort(key=lambda r, p=position: hash((r.job_id, p)))
    answers = await asyncio.gather(*(store(db, tenant, batch) for batch in batches))
    assert sum(a.stored for a in answers) == len(days) * len(modules) * len(tenant.customers)
    for c in tenant.customers:
        rows = (await page(db, tenant, c)).rows
        assert [row.job_id for row in rows] == [f"J-{c.hex[:6]}-{m}-7" for m in modules]


def test_a_records_fields_are_a_job_rows_columns():
    # Ingestion writes a record's fields as they are (see store.jobs._upsert_jobs).
    assert set(JobRecord.__struct_fields__) == {*job_store.JOB_FIELDS, *job_store._SERVICE_KEY}
    assert set(JobRecord.__struct_fields__) <= set(jobs.c.keys())


async def test_remembered_services_are_bounded_and_pages_stay_right(db, monkeypatch):
    monkeypatch.setattr(job_store, "KNOWN_SERVICES", 5)
    known = job_store._KnownServices()
    for customer in range(4):
        known.put((customer, 1), ["first", "second"])
    assert known.get((0, 1)) is None and known.get((1, 1)) is None
    assert known.get((2, 1)) and known.get((3, 1))
    tenant = await make_tenant(db, customers=4)
    await store(db, tenant, [nightly(c, m, 0) for c in tenant.customers for m in (302, 303)])
    for _ in range(2):  # each read evicts another customer's services: all still right
        for c in tenant.customers:
            rows = (await page(db, tenant, c)).rows
            assert [row.job_id for row in rows] == [f"J-{c.hex[:6]}-{m}-0" for m in (302, 303)]
