"""Job pages from the read model: each page read asks the database (or the change feed)
for the customer's revision, pages kept by value never go stale, concurrent reads of
different tenants stay apart, and bounded caches keep pages right."""

import asyncio
import uuid

from backupjobs.readmodel import ReadModel, ServicesCache
from tests.jobs import nightly, page, scope
from tests.world import add_app, enable, make_tenant


async def store(ingestor, tenant, records):
    return await ingestor.ingest_batch(scope(tenant), list(enumerate(records)))


async def test_a_changed_service_is_read_again(read_model, ingestor, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await store(ingestor, tenant, [nightly(c, 302, 0), nightly(c, 304, 0)])
    first = await page(read_model, tenant, c)
    assert [row.job_id for row in first.rows] == [f"J-{c.hex[:6]}-302-0", f"J-{c.hex[:6]}-304-0"]
    # Unchanged: the same page, kept.
    assert (await page(read_model, tenant, c)).encoded.rows is first.encoded.rows
    await store(ingestor, tenant, [nightly(c, 304, 1, status=3)])
    second = await page(read_model, tenant, c)
    assert [(row.job_id, row.status) for row in second.rows] == [
        (f"J-{c.hex[:6]}-302-0", 2),
        (f"J-{c.hex[:6]}-304-1", 3),
    ]
    # The same job reported again with the same lastModifyTime and new content applies,
    # and shows.
    await store(ingestor, tenant, [nightly(c, 304, 1, status=4)])
    assert (await page(read_model, tenant, c)).rows[1].status == 4
    await enable(db, c, 7, 308)
    assert [row.job_module for row in (await page(read_model, tenant, c)).rows] == [302, 304, 308]


async def test_pages_are_cut_from_the_services(read_model, ingestor, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    modules = [302, 303, 304, 305, 308]
    await store(ingestor, tenant, [nightly(c, m, 0) for m in modules])
    for offset, limit in [(0, 100), (0, 2), (2, 2), (4, 2), (5, 2), (2**53, 100)]:
        for _ in range(2):  # rendered, then kept
            cut = await page(read_model, tenant, c, offset=offset, limit=limit)
            assert cut.total == 5
            assert [row.job_module for row in cut.rows] == modules[offset : offset + limit]
            assert cut.encoded.count == len(modules[offset : offset + limit])
    filtered = await page(read_model, tenant, c, job_module=304)
    assert (filtered.total, [row.job_module for row in filtered.rows]) == (1, [304])
    assert (await page(read_model, tenant, c, job_type=11)).total == 0


async def test_services_with_the_same_history_in_two_customers_stay_apart(read_model, ingestor, db):
    tenant = await make_tenant(db)
    c, d = tenant.customers
    await store(ingestor, tenant, [nightly(c, 302, 0)])
    await enable(db, d, 7, 302)
    assert (await page(read_model, tenant, c)).rows[0].job_id is not None
    assert (await page(read_model, tenant, d)).rows[0].job_id is None


async def test_concurrent_reads_of_many_tenants_stay_apart(read_model, ingestor, db):
    tenants = [await make_tenant(db, customers=3) for _ in range(4)]
    scoped = await add_app(db, tenants[0], app_customers=[0])
    for tenant in tenants:
        await store(ingestor, tenant, [nightly(c, 302, 0) for c in tenant.customers])
    calls = []
    for tenant in [*tenants, scoped]:
        for other in tenants:
            for customer in other.customers:
                calls.append((tenant, customer))
    calls *= 3
    pages = await asyncio.gather(*(page(read_model, tenant, c) for tenant, c in calls))
    for (tenant, customer), found in zip(calls, pages, strict=True):
        visible = customer in tenant.customers and (
            tenant is not scoped or customer == scoped.customers[0]
        )
        if visible:
            assert found.rows[0].job_id == f"J-{customer.hex[:6]}-302-0"
        else:
            assert found is None
    assert await page(read_model, tenants[0], uuid.uuid4()) is None


async def test_a_page_kept_for_one_app_is_not_another_apps_nor_another_filters(
    read_model, ingestor, db
):
    tenant = await make_tenant(db, customers=2)
    scoped = await add_app(db, tenant, app_customers=[0])
    c, outside = tenant.customers
    await store(ingestor, tenant, [nightly(c, 302, 0), nightly(outside, 302, 0)])
    assert await page(read_model, tenant, outside) is not None  # kept for this app
    assert await page(read_model, scoped, outside) is None  # not for the other
    whole = await page(read_model, scoped, c)
    only = await page(read_model, scoped, c, job_module=303)
    assert (whole.total, only.total) == (1, 0)


def test_the_services_cache_is_bounded_by_services():
    cache = ServicesCache(5)
    for customer in range(4):
        cache.put((customer, 1), ["first", "second"])
    assert cache.get((0, 1)) is None and cache.get((1, 1)) is None
    assert cache.get((2, 1)) and cache.get((3, 1))
    assert cache.weight == 4


async def test_cached_services_are_bounded_and_pages_stay_right(ingestor, db):
    # A read model of its own, not following changes: every page asks for the revision,
    # and each read evicts another customer's services (and pages).
    small = ReadModel(db, services_cached=5, page_cache_bytes=1)
    tenant = await make_tenant(db, customers=4)
    await store(ingestor, tenant, [nightly(c, m, 0) for c in tenant.customers for m in (302, 303)])
    for _ in range(2):
        for c in tenant.customers:
            rows = (await page(small, tenant, c)).rows
            assert [row.job_id for row in rows] == [f"J-{c.hex[:6]}-{m}-0" for m in (302, 303)]
    assert small.services.weight <= 5
    assert len(small.pages) == 1
