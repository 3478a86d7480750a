"""A remote API misbehaving, through a real HTTP fault server in front of the upstream:
429 with Retry-After, 5xx, garbage JSON, an answer past the timeout, a dropped
connection. Retried ones succeed; one that stays bad fails that customer, and the run
goes on."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from backupjobs.model import Tenant
from backupjobs.sdk import Retry
from backupjobs.sdk.retry import RETRY_STATUSES, SERVER_ERRORS
from backupjobs.store import directory, upstreams
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import jobs
from backupjobs.sync import SyncOptions, run_upstream
from tests.sdk.test_parsing import VENDOR_V3_CUSTOMER
from tests.sync.conftest import VendorTenant
from tests.sync.faults import Fault, FaultServer
from tests.world import job, make_tenant

#: Each test reads from a real upstream process (tests/sync/conftest.py).
pytestmark = pytest.mark.slow

QUICK_RETRY = Retry(
    attempts=3, backoff=0.05, max_backoff=0.2, statuses=RETRY_STATUSES | SERVER_ERRORS
)
OPTIONS = SyncOptions(concurrency=2, timeout=3.0, retry=QUICK_RETRY)
CUSTOMERS = "/customers/batch"
JOBS = "/avpt-products/jobs/batch"


async def synced_jobs(db: Database, partner_id: Any) -> int:
    async with db.read() as connection:
        count = await connection.scalar(select(func.count()).where(jobs.c.partner_id == partner_id))
    return int(count or 0)


async def setup(db: Database, vendor_tenant: VendorTenant, faults: FaultServer) -> Any:
    await vendor_tenant.ingest([job(c, f"F-{c.hex[:8]}") for c in vendor_tenant.customers])
    local = await make_tenant(db, customers=0)
    upstream = vendor_tenant.upstream(local.partner_id, url=faults.url)
    async with db.write() as connection:
        await upstreams.add_upstream(connection, upstream)
    return local, upstream


async def test_429_5xx_timeouts_and_dropped_connections_are_retried(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    async with FaultServer(vendor_tenant.vendor.url) as faults:
        local, upstream = await setup(db, vendor_tenant, faults)
        faults.add(
            Fault(CUSTOMERS, 429, b'{"title":"Too Many Requests"}', {"Retry-After": "1"}),
            Fault(CUSTOMERS, 503),
            Fault(JOBS, 500, b"oops"),
            Fault(JOBS, 502),
            Fault(JOBS, delay=4.0),  # past the 3 s timeout
            Fault(JOBS, drop=True),
        )
        started = time.monotonic()
        outcome = await run_upstream(db, ingestor, upstream, OPTIONS)
        took = time.monotonic() - started
    assert outcome.status == "succeeded", outcome
    assert outcome.counts.jobs_new == 3
    assert took >= 1.0  # the Retry-After was honoured
    assert faults.faults == []  # every fault was met
    # token, customers (429, 503, then the page), 3 customers' pages + 4 retries
    assert outcome.counts.requests == 1 + 3 + 3 + 4
    assert await synced_jobs(db, local.partner_id) == 3


async def test_a_malformed_answer_fails_that_customer_and_the_run_goes_on(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    alpha, bravo, charlie = vendor_tenant.customers
    async with FaultServer(vendor_tenant.vendor.url) as faults:
        local, upstream = await setup(db, vendor_tenant, faults)
        faults.add(
            Fault(
                f"/customers/{alpha}/",
                200,
                b'{"data": [garbage',
                {"Content-Type": "application/json"},
            ),
            Fault(f"/customers/{bravo}/", 200, b'{"data": [{"jobType": "x"}], "metadata": {}}'),
            Fault(f"/customers/{charlie}/", 503, times=3),  # still unavailable after the retries
        )
        outcome = await run_upstream(db, ingestor, upstream, OPTIONS)
        faults.faults.clear()
        assert (outcome.status, outcome.counts.errors, outcome.counts.jobs_new) == ("partial", 3, 0)
        async with db.read() as connection:
            problems = await upstreams.run_errors(connection, local.partner_id, outcome.run_id)
        assert {customer for customer, _, _ in problems} == {alpha, bravo, charlie}
        for _, _, message in problems:
            assert message.startswith("reading its jobs: ")
        # The next run, with the upstream well again, gets everything.
        healed = await run_upstream(db, ingestor, upstream, OPTIONS)
    assert (healed.status, healed.counts.jobs_new) == ("succeeded", 3)


async def test_a_run_that_cannot_list_the_customers_fails(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    async with FaultServer(vendor_tenant.vendor.url) as faults:
        local, upstream = await setup(db, vendor_tenant, faults)
        faults.add(Fault(CUSTOMERS, 401, b'{"title":"Unauthorized","status":401}', times=5))
        outcome = await run_upstream(db, ingestor, upstream, OPTIONS)
    assert (outcome.status, outcome.counts.customers) == ("failed", 0)
    async with db.read() as connection:
        ((customer, _, message),) = await upstreams.run_errors(
            connection, local.partner_id, outcome.run_id
        )
    assert customer is None and message.startswith("listing the upstream's customers")


def vendor_sample(name: str) -> bytes:
    """The response sample of a vendor document (tests/seeds), byte for byte."""
    text = (Path(__file__).parents[1] / "seeds" / name).read_text()
    sample = text.split("## Response Sample", 1)[1]
    return sample.split("```json", 1)[1].split("```", 1)[0].strip().encode()


async def test_the_vendors_sample_answer_is_stored_as_it_says(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    alpha = vendor_tenant.customers[0]
    body = vendor_sample("000_08c226e510f1a017.txt")
    async with FaultServer(vendor_tenant.vendor.url) as faults:
        _, upstream = await setup(db, vendor_tenant, faults)
        faults.add(Fault(f"/customers/{alpha}/", 200, body, {"Content-Type": "application/json"}))
        outcome = await run_upstream(db, ingestor, upstream, OPTIONS)
    assert (outcome.status, outcome.counts.jobs_new) == ("succeeded", 3), outcome
    async with db.read() as connection:
        row = (
            await connection.execute(
                # Other tests of the session store the same sample under their own partners.
                select(jobs).where(
                    jobs.c.job_id == "FB20250911032116214502", jobs.c.customer_id == alpha
                )
            )
        ).one()
    assert (row.customer_id, row.job_type, row.job_module, row.status) == (alpha, 7, 304, 3)
    assert (row.name, row.total_count, row.successful_count, row.backup_size_bytes) == (
        None,
        2323,
        2323,
        0,
    )
    assert row.end_time - row.start_time == timedelta(minutes=17, seconds=40)
    assert row.last_modify_time == datetime(2025, 9, 11, 3, 38, 57, tzinfo=UTC)


async def test_the_vendors_customer_rows_become_customers_with_every_field(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    bad = "7d1e2f3a-4b5c-4d6e-8f70-819a2b3c4d5e"
    rows = [
        VENDOR_V3_CUSTOMER,
        {**VENDOR_V3_CUSTOMER, "id": bad, "ownerEmail": "not an email", "tenants": []},
    ]
    listing = {"data": rows, "metadata": {"pageIndex": 1, "pageSize": 100, "totalCount": 2}}
    no_jobs = {"data": [], "metadata": {"pageIndex": 1, "pageSize": 100, "totalCount": 0}}
    sample_id = VENDOR_V3_CUSTOMER["id"]
    async with FaultServer(vendor_tenant.vendor.url) as faults:
        local, upstream = await setup(db, vendor_tenant, faults)
        faults.add(
            Fault(CUSTOMERS, 200, json.dumps(listing).encode()),
            Fault(f"/customers/{sample_id}/", 200, json.dumps(no_jobs).encode()),
        )
        outcome = await run_upstream(db, ingestor, upstream, OPTIONS)
    assert (outcome.status, outcome.counts.customers, outcome.counts.errors) == ("partial", 1, 1)
    async with db.read() as connection:
        made = await directory.describe_customer(connection, UUID(sample_id))
        ((customer, _, message),) = await upstreams.run_errors(
            connection, local.partner_id, outcome.run_id
        )
    assert (made.partner_id, made.name, made.owner_email, made.country_or_region) == (
        local.partner_id,
        "OrganizationABC",
        "user@domain.com",
        "Afghanistan",
    )
    assert (made.management_mode, made.tenants) == (1, (Tenant(sample_id, "Tenant ABC"),))
    assert customer == UUID(bad)
    assert message.startswith("its fields: owner email 'not an email' is not an email address")
