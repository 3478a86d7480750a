"""Concurrent batches carrying the same jobId: no error, one owner, counts still right."""

import asyncio

import msgspec
import pytest
from sqlalchemy import select

from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import backup_services
from backupjobs.store.scope import TenantScope
from tests.store.test_outcomes import record, recount
from tests.world import make_tenant


@pytest.mark.postgresql_only
async def test_the_same_new_jobid_for_two_services_at_once_is_taken_by_one(db):
    """Two batches at once, each bringing the same new jobId for another service (the
    second another job besides): one stores it, the other is told it is taken, as if
    they had come one after the other. Neither fails, and the counts equal the history."""
    tenant = await make_tenant(db, customers=1)
    scope = TenantScope(tenant.partner_id, tenant.client_id)
    customer = tenant.customers[0]
    ingestor = Ingestor(db)
    for number in range(100, 112):
        first = record(customer, number, 304, 2, 1, 0)
        second = msgspec.structs.replace(
            record(customer, number, 305, 3, 2, 1), job_id=first.job_id
        )
        besides = record(customer, number + 50, 304, 2, 3, 2)
        results = await asyncio.gather(
            ingestor.ingest_batch(scope, [(0, first)]),
            ingestor.ingest_batch(scope, [(0, second), (1, besides)]),
            return_exceptions=True,
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        alone, both = results
        if alone.stored:  # the first batch's service has the jobId
            assert (alone.stored, alone.rejected) == (1, [])
            assert both.stored == 1
            assert [r.job_id for r in both.rejected] == [first.job_id]
            assert "another backup service" in both.rejected[0].error
        else:
            assert both.stored == 2
            assert [r.job_id for r in alone.rejected] == [first.job_id]
    await recount(db, tenant.partner_id)


@pytest.mark.postgresql_only
async def test_a_batch_that_loses_the_jobid_leaves_no_service_behind(db):
    """The same new jobId for two new services at once: the losing batch's service was
    made for that job alone, and goes with it, as when the batches come one after the
    other (the record is refused before its service is made)."""
    tenant = await make_tenant(db, customers=8)
    scope = TenantScope(tenant.partner_id, tenant.client_id)
    ingestor = Ingestor(db)
    for number, customer in enumerate(tenant.customers):
        first = record(customer, number, 304, 2, 1, 0)
        second = msgspec.structs.replace(
            record(customer, number, 305, 3, 2, 1), job_id=first.job_id
        )
        results = await asyncio.gather(
            ingestor.ingest_batch(scope, [(0, first)]),
            ingestor.ingest_batch(scope, [(0, second)]),
        )
        assert sorted(result.stored for result in results) == [0, 1]
    async with db.read() as connection:
        services = (
            await connection.execute(
                select(backup_services.c.customer_id, backup_services.c.latest_job_id).where(
                    backup_services.c.partner_id == tenant.partner_id
                )
            )
        ).all()
    assert sorted(customer for customer, _ in services) == sorted(tenant.customers)
    assert all(latest is not None for _, latest in services)
    await recount(db, tenant.partner_id)
