"""Ingestion at the store: a customer's revision changes with its services only,
concurrent batches over the same services end as if they had run one after another, and
the services an ingestor knows to exist are bounded."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from backupjobs.model import JobRecord
from backupjobs.store import schema
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import customers, jobs
from tests.jobs import nightly, page, scope
from tests.world import enable, make_tenant


async def store(ingestor, db, tenant, records):
    async with db.write() as connection:
        return await ingestor.ingest(
            connection, scope(tenant), list(enumerate(records)), now=datetime.now(UTC)
        )


async def test_a_customers_revision_changes_with_its_services_only(ingestor, db):
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
    await store(ingestor, db, tenant, [nightly(c, 302, 0)])
    seen.append(await revisions())
    await store(ingestor, db, tenant, [nightly(c, 302, 0)])  # the same record again: applied anew
    seen.append(await revisions())
    await store(ingestor, db, tenant, [nightly(c, 302, -5)])  # an older job: the latest stays
    seen.append(await revisions())
    await enable(db, c, 7, 308)  # a service that has not run yet
    seen.append(await revisions())
    assert len({revision[c] for revision in seen}) == 4
    assert seen[3][c] == seen[2][c]
    assert len({revision[d] for revision in seen}) == 1


async def test_one_batch_revises_the_customers_with_new_latest_jobs_and_refigures_the_late(
    ingestor, db
):
    # c's latest job failed; one batch brings d's next job and, late, c's earlier success:
    # d gets a new revision, c keeps its own (its latest job is the same) but its last
    # success moves, both in the batch's one UPDATE of the customers.
    tenant = await make_tenant(db)
    c, d = tenant.customers
    await store(ingestor, db, tenant, [nightly(c, 302, 5, status=3), nightly(d, 302, 5)])

    async def kept():
        async with db.read() as connection:
            rows = await connection.execute(
                select(
                    customers.c.id, customers.c.services_revision, customers.c.services_last_success
                ).where(customers.c.id.in_([c, d]))
            )
            return {row.id: row for row in rows}

    before = await kept()
    late = nightly(c, 302, 2)
    await store(ingestor, db, tenant, [nightly(d, 302, 6), late])
    after = await kept()
    assert after[c].services_revision == before[c].services_revision
    assert before[c].services_last_success is None
    assert after[c].services_last_success == late.end_time
    assert after[d].services_revision != before[d].services_revision


@pytest.mark.postgresql_only
async def test_concurrent_batches_over_the_same_services_end_as_serial(read_model, ingestor, db):
    tenant = await make_tenant(db, customers=6)
    modules = [302, 303, 304, 305]
    days = range(8)
    batches = [[nightly(c, m, day) for c in tenant.customers for m in modules] for day in days]
    # Each batch a day of every service, in a different order, all at once.
    for position, batch in enumerate(batches):
        batch.sort(key=lambda r, p=position: hash((r.job_id, p)))
    answers = await asyncio.gather(*(store(ingestor, db, tenant, batch) for batch in batches))
    assert sum(a.stored for a in answers) == len(days) * len(modules) * len(tenant.customers)
    for c in tenant.customers:
        rows = (await page(read_model, tenant, c)).rows
        assert [row.job_id for row in rows] == [f"J-{c.hex[:6]}-{m}-7" for m in modules]


def test_a_records_fields_are_a_job_rows_columns():
    # Ingestion writes a record's fields as they are (see store.ingestion._upsert_jobs).
    assert set(JobRecord.__struct_fields__) == {*schema.JOB_FIELDS, *schema.SERVICE_KEY}
    assert set(JobRecord.__struct_fields__) <= set(jobs.c.keys())


async def test_the_services_an_ingestor_knows_are_bounded_and_ingestion_stays_right(db):
    ingestor = Ingestor(db, known_services=2)
    tenant = await make_tenant(db, customers=3)
    for day in range(3):  # each batch a service per customer: more than it may know
        records = [nightly(c, m, day) for c in tenant.customers for m in (302, 303)]
        result = await store(ingestor, db, tenant, records)
        assert (result.stored, result.stale, result.rejected) == (6, 0, [])
        assert len(ingestor._known) <= 2
    async with db.read() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(jobs).where(jobs.c.partner_id == tenant.partner_id)
        )
    assert count == 18
