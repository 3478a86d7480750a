"""Sync runs against a real upstream process: history accumulates, unchanged is a no-op,
customers follow the upstream, another partner is untouched, and the synced data is
what our v3 API answers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select

from backupjobs.model import Tenant
from backupjobs.store import directory, upstreams
from backupjobs.store.database import Database
from backupjobs.store.directory import CustomerChanges
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import jobs
from backupjobs.sync import SyncOptions, run_upstream
from tests.sync.conftest import VendorTenant, enable_upstream
from tests.world import job, make_tenant, v3_jobs_path

#: Each test reads from a real upstream process (tests/sync/conftest.py).
pytestmark = pytest.mark.slow

FAST = SyncOptions(concurrency=2, timeout=10)


async def add(db: Database, upstream: upstreams.Upstream) -> upstreams.Upstream:
    async with db.write() as connection:
        await upstreams.add_upstream(connection, upstream)
    return upstream


async def history(db: Database, customer: UUID) -> dict[str, tuple[int, datetime]]:
    async with db.read() as connection:
        rows = await connection.execute(
            select(jobs.c.job_id, jobs.c.status, jobs.c.last_modify_time).where(
                jobs.c.customer_id == customer
            )
        )
        return {row[0]: (row[1], row[2]) for row in rows}


async def v3_rows(client: httpx.AsyncClient, tenant: Any, customer: UUID) -> list[dict[str, Any]]:
    response = await client.post(
        v3_jobs_path(customer), json={}, headers=await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_every_run_lands_in_history_and_an_unchanged_job_is_not_written(
    db: Database, ingestor: Ingestor, client: httpx.AsyncClient, vendor_tenant: VendorTenant
) -> None:
    alpha, bravo, charlie = vendor_tenant.customers
    await vendor_tenant.ingest(
        [
            job(alpha, "A-1", backupSizeBytes=1610612736, startTime="2026-11-30T03:00:00Z",
                endTime="2026-11-30T03:17:39Z", lastModifyTime="2026-11-30T03:17:40Z"),
            job(bravo, "B-1", status=3, jobModule=302),
            job(bravo, "B-2", status=1, jobModule=303, endTime=None,
                lastModifyTime="2025-09-11T03:30:00Z"),
        ]
    )  # fmt: skip
    await enable_upstream(vendor_tenant, charlie, 7, 305)  # a service with no job yet
    local = await make_tenant(db, customers=0)
    upstream = await add(db, vendor_tenant.upstream(local.partner_id))

    first = await run_upstream(db, ingestor, upstream, FAST)
    assert first.status == "succeeded", first
    counts = first.counts
    assert (counts.customers, counts.rows_read, counts.jobs_new, counts.jobs_updated) == (
        3,
        4,
        3,
        0,
    )
    # One request per page (every list fits one), and one token.
    assert counts.requests == 1 + 1 + 3

    # The customers, with the upstream's ids and names, and their jobs through our v3 API.
    async with db.read() as connection:
        names = {
            c.id: c.name
            for c in await directory.list_customers(connection, partner_id=local.partner_id)
        }
    assert names == {alpha: "Alpha", bravo: "Bravo", charlie: "Charlie"}
    (row,) = await v3_rows(client, local, alpha)
    assert (row["jobId"], row["backupSize"], row["jobDuration"]) == ("A-1", "1.5 GB", "17m39s")
    assert row["startTime"].startswith("2026-11-30T03:00:00")
    (placeholder,) = await v3_rows(client, local, charlie)
    assert (placeholder["jobModule"], placeholder["jobId"]) == (305, "N/A")

    again = await run_upstream(db, ingestor, upstream, FAST)
    assert (again.counts.jobs_new, again.counts.jobs_updated, again.counts.rows_read) == (0, 0, 4)

    # The upstream moves on: a new run of A's service, B-2 finishes. Both land here, and
    # A's earlier run stays in history although the upstream no longer shows it.
    await vendor_tenant.ingest(
        [
            job(alpha, "A-2", startTime="2026-12-01T03:00:00Z", endTime="2026-12-01T03:10:00Z",
                lastModifyTime="2026-12-01T03:10:01Z"),
            job(bravo, "B-2", status=2, jobModule=303, endTime="2025-09-11T03:40:00Z",
                lastModifyTime="2025-09-11T03:40:01Z"),
        ]
    )  # fmt: skip
    third = await run_upstream(db, ingestor, upstream, FAST)
    assert (third.counts.jobs_new, third.counts.jobs_updated) == (1, 1)
    assert set(await history(db, alpha)) == {"A-1", "A-2"}
    assert (await history(db, bravo))["B-2"][0] == 2
    (row,) = await v3_rows(client, local, alpha)
    assert row["jobId"] == "A-2"

    async with db.read() as connection:
        recorded = await upstreams.runs(connection, upstream)
    assert [run.status for run in recorded] == ["succeeded"] * 3
    assert [run.jobs_new for run in recorded] == [1, 0, 3]


async def test_customers_follow_the_upstream_and_one_gone_is_marked_not_deleted(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    alpha, bravo, _ = vendor_tenant.customers
    await vendor_tenant.ingest([job(bravo, "B-1")])
    local = await make_tenant(db, customers=0)
    upstream = await add(db, vendor_tenant.upstream(local.partner_id))
    assert (await run_upstream(db, ingestor, upstream, FAST)).status == "succeeded"

    tenants = (Tenant("t-1", "Alpha EU"), Tenant("t-2", "Alpha US"))

    async def rename_and_offboard(connection: Any) -> None:
        changes = CustomerChanges(
            name="Alpha Ltd",
            owner_email="it@alpha.example",
            country_or_region="Norway",
            management_mode=1,
            tenants=tenants,
        )
        await directory.update_customer(connection, alpha, changes)
        await directory.delete_customer(connection, bravo)

    await vendor_tenant.change(rename_and_offboard)
    outcome = await run_upstream(db, ingestor, upstream, FAST)
    assert (outcome.status, outcome.counts.customers) == ("succeeded", 2)
    async with db.read() as connection:
        synced = await directory.describe_customer(connection, alpha)
    # Every field of the vendor's customer row: organization, owner, country, mode, tenants.
    assert (synced.name, synced.owner_email, synced.country_or_region) == (
        "Alpha Ltd",
        "it@alpha.example",
        "Norway",
    )
    assert (synced.management_mode, set(synced.tenants)) == (1, set(tenants))
    async with db.read() as connection:
        # Gone upstream: still here, with its history, and marked.
        assert (await directory.describe_customer(connection, bravo)).name == "Bravo"
        assert await upstreams.gone_customers(connection, upstream) == [bravo]
    assert set(await history(db, bravo)) == {"B-1"}


async def test_a_customer_id_another_partner_has_here_is_an_error_and_left_alone(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    alpha, bravo, _ = vendor_tenant.customers
    await vendor_tenant.ingest([job(alpha, "A-1"), job(bravo, "B-1")])
    other = await make_tenant(db, customers=1, names=["Theirs"], customer_ids=[alpha])
    local = await make_tenant(db, customers=0)
    upstream = await add(db, vendor_tenant.upstream(local.partner_id))

    outcome = await run_upstream(db, ingestor, upstream, FAST)
    assert (outcome.status, outcome.counts.customers, outcome.counts.errors) == ("partial", 2, 1)
    async with db.read() as connection:
        theirs = await directory.describe_customer(connection, alpha)
        (problem,) = await upstreams.run_errors(connection, local.partner_id, outcome.run_id)
    assert (theirs.partner_id, theirs.name) == (other.partner_id, "Theirs")
    assert await history(db, alpha) == {}
    assert problem[0] == alpha and "already exists" in problem[2]
    assert str(other.partner_id) not in problem[2]
    assert set(await history(db, bravo)) == {"B-1"}


async def test_two_runs_of_one_upstream_at_once_one_is_busy(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant
) -> None:
    await vendor_tenant.ingest([job(c, f"J-{c.hex[:8]}") for c in vendor_tenant.customers])
    local = await make_tenant(db, customers=0)
    upstream = await add(db, vendor_tenant.upstream(local.partner_id))
    outcomes = await asyncio.gather(
        run_upstream(db, ingestor, upstream, FAST), run_upstream(db, ingestor, upstream, FAST)
    )
    statuses = sorted(outcome.status for outcome in outcomes)
    assert statuses == ["busy", "succeeded"], outcomes
    assert sum(outcome.counts.jobs_new for outcome in outcomes) == 3

    # A lease held by a live process elsewhere: busy; by a dead process here: taken over.
    now = datetime.now(UTC)
    for holder, expected in (("elsewhere:1:x", "busy"), (f"{dead_holder()}", "succeeded")):
        async with db.write() as connection:
            await upstreams.take_lease(
                connection, upstream, holder, now=now, until=now.replace(year=now.year + 1),
                replacing=None,
            )  # fmt: skip
        assert (await run_upstream(db, ingestor, upstream, FAST)).status == expected
        async with db.write() as connection:
            await upstreams.release_lease(connection, upstream, holder)


def dead_holder() -> str:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return f"{socket.gethostname()}:{finished.pid}:dead"


async def test_a_secret_file_that_cannot_be_read_fails_the_run_with_a_recorded_error(
    db: Database, ingestor: Ingestor, vendor_tenant: VendorTenant, tmp_path: Any
) -> None:
    local = await make_tenant(db, customers=0)
    missing = replace(vendor_tenant.upstream(local.partner_id), secret_file=str(tmp_path / "no"))
    await add(db, missing)
    outcome = await run_upstream(db, ingestor, missing, FAST)
    assert (outcome.status, outcome.counts.errors) == ("failed", 1)
    async with db.read() as connection:
        (problem,) = await upstreams.run_errors(connection, local.partner_id, outcome.run_id)
    assert "cannot read the secret file" in problem[2]
    async with db.read() as connection:
        count = await connection.scalar(
            select(func.count()).where(jobs.c.partner_id == local.partner_id)
        )
    assert count == 0
