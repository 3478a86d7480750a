"""Upstream sync of 500 customers x 10 services from a local upstream: jobs per second,
and the number of upstream requests (one per page, no more).

    python -m bench.sync                        # PostgreSQL, 500 x 10
    python -m bench.sync --customers 50 --backend sqlite

The upstream is ``backupjobs serve`` on a database of its own, seeded with a partner,
its customers, one job per service (posted through ``/api/v1/ingest/jobs``, timed: the
reference) and an app. The sync runs in this process into another database, as
``backupjobs sync run --once`` does, with the default settings: a first run (every job
new), a second with nothing changed (no write at all), a third after every service's
job was replaced upstream (every job new again). Targets: requests = 1 token + one per
customers page + one per customer (its 10 rows fit one page), no more; the unchanged run
writes nothing; the first run of 500 x 10 within 60 s (a fifteenth of the default
15-minute interval).
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from backupjobs.auth.permissions import ALL_PERMISSIONS
from backupjobs.log import configure_logging
from backupjobs.provisioning import AppPlan, CustomerPlan, PartnerPlan, provision
from backupjobs.store import upstreams
from backupjobs.store.database import Database
from backupjobs.store.directory import create_partner
from backupjobs.store.ingestion import Ingestor
from backupjobs.sync import SyncOptions, run_upstream
from bench import harness

#: Ten backup services per customer: Microsoft 365 and IaaS modules.
SERVICES = ((7, 302), (7, 303), (7, 304), (7, 305), (12, 355), (12, 356), (12, 357),
            (12, 358), (12, 359), (12, 361))  # fmt: skip
TARGET_FIRST_RUN_SECONDS = 60.0
PAGE = 100
BATCH = 1_000


def records(customers: list[UUID], round_: int) -> list[dict[str, Any]]:
    start = datetime(2026, 11, 1, 3, tzinfo=UTC) + timedelta(days=round_)
    return [
        {
            "jobId": f"R{round_}-{customer.hex[:12]}-{job_type}-{job_module}",
            "customerId": str(customer),
            "jobType": job_type,
            "jobModule": job_module,
            "status": 2,
            "name": "Nightly",
            "totalCount": 1200,
            "failedCount": 0,
            "successfulCount": 1200,
            "skippedCount": 0,
            "warningCount": 0,
            "backupSizeBytes": 1610612736,
            "startTime": start.isoformat(),
            "endTime": (start + timedelta(minutes=17, seconds=39)).isoformat(),
            "lastModifyTime": (start + timedelta(minutes=18)).isoformat(),
        }
        for customer in customers
        for job_type, job_module in SERVICES
    ]


def post_jobs(url: str, token: str, rows: list[dict[str, Any]]) -> float:
    """Post ``rows`` in batches; the seconds it took."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=120) as http:
        for at in range(0, len(rows), BATCH):
            answer = http.post(
                "/api/v1/ingest/jobs",
                json=rows[at : at + BATCH],
                headers={"Authorization": f"Bearer {token}"},
            )
            answer.raise_for_status()
            assert answer.json()["stored"] == len(rows[at : at + BATCH]), answer.text
    return time.monotonic() - started


async def seed_upstream(database_url: str, customers: int) -> tuple[list[UUID], str, str]:
    db = Database(database_url, pool_size=2)
    try:
        await db.migrate()
        plan = PartnerPlan(
            "Vendor tenant",
            customers=tuple(CustomerPlan(f"Customer {index:04d}") for index in range(customers)),
            apps=(AppPlan("mirror", ALL_PERMISSIONS),),
        )
        made = await provision(db, plan, now=datetime.now(UTC))
        return list(made.customer_ids), made.app.client_id, made.app.secret.value
    finally:
        await db.dispose()


async def sync_runs(
    local_url: str,
    upstream_url: str,
    client_id: str,
    secret_file: Path,
    rounds: list[Any],
    options: SyncOptions,
) -> list[Any]:
    db = Database(local_url, pool_size=10)
    try:
        await db.migrate()
        async with db.write() as connection:
            partner_id = await create_partner(connection, "Mirror", now=datetime.now(UTC))
            upstream = upstreams.Upstream(
                partner_id=partner_id,
                name="vendor",
                base_url=upstream_url,
                token_url=f"{upstream_url}/connect/token",
                client_id=client_id,
                secret_file=str(secret_file),
                cert_file=None,
                key_file=None,
                interval_seconds=900,
                created_at=datetime.now(UTC),
            )
            await upstreams.add_upstream(connection, upstream)
        ingestor = Ingestor(db)
        outcomes = []
        for before in rounds:
            before()
            cpu = time.process_time()
            outcome = await run_upstream(db, ingestor, upstream, options)
            outcomes.append((outcome, time.process_time() - cpu))
        return outcomes
    finally:
        await db.dispose()


def measure(backend: str, customers: int, folder: Path, options: SyncOptions) -> dict[str, Any]:
    database = harness.postgres_database if backend == "postgresql" else harness.sqlite_database
    with database() as upstream_url, database() as local_url:
        ids, client_id, secret = asyncio.run(seed_upstream(upstream_url, customers))
        secret_file = folder / f"secret-{backend}"
        secret_file.write_text(secret)
        with harness.backupjobs_server(upstream_url) as server:
            token = harness.token(server.url, client_id, secret)
            reference = post_jobs(server.url, token, records(ids, 0))

            def replace_every_job() -> None:
                post_jobs(server.url, token, records(ids, 1))

            outcomes = asyncio.run(
                sync_runs(
                    local_url,
                    server.url,
                    client_id,
                    secret_file,
                    [lambda: None, lambda: None, replace_every_job],
                    options,
                )
            )
    jobs = customers * len(SERVICES)
    expected_requests = 1 + math.ceil(customers / PAGE) + customers
    return {
        "jobs": jobs,
        "reference": jobs / reference,
        "outcomes": outcomes,
        "expected_requests": expected_requests,
    }


def report(backend: str, result: dict[str, Any]) -> None:
    (first, _), (unchanged, _), (replaced, _) = result["outcomes"]
    cpu = {id(outcome): spent for outcome, spent in result["outcomes"]}
    jobs = result["jobs"]

    def seconds(outcome: Any) -> float:
        return float((outcome.ended_at - outcome.started_at).total_seconds())

    rate = first.counts.jobs_new / seconds(first)
    print(
        f"  {backend}: reference, HTTP ingestion of the same {jobs:,} jobs into the "
        f"upstream: {result['reference']:,.0f} jobs/s"
    )
    for label, outcome in (
        ("first run", first),
        ("unchanged run", unchanged),
        ("every job replaced", replaced),
    ):
        counts = outcome.counts
        print(
            f"  {backend}: {label}: {outcome.status}, {seconds(outcome):.2f} s, "
            f"{counts.rows_read:,} rows read, {counts.jobs_new:,} new, "
            f"{counts.jobs_updated:,} updated, {counts.requests} upstream requests "
            f"(one per page: {result['expected_requests']}), "
            f"{counts.rows_read / seconds(outcome):,.0f} rows/s, "
            f"{cpu[id(outcome)]:.1f} s of CPU in the syncing process"
        )
    took = seconds(first)
    quiet = unchanged.counts.jobs_new + unchanged.counts.jobs_updated == 0
    print(
        f"  {backend}: sync {rate:,.0f} jobs/s, ratio to the reference ingestion "
        f"{rate / result['reference']:.2f}; first run {took:.1f} s (target <= "
        f"{TARGET_FIRST_RUN_SECONDS:.0f} s: "
        f"{harness.verdict(took, TARGET_FIRST_RUN_SECONDS, higher_is_better=False)}); "
        f"unchanged run writes nothing: {'met' if quiet else 'NOT met'}; "
        f"requests {first.counts.requests} vs one per page {result['expected_requests']}: "
        f"{'met' if first.counts.requests == result['expected_requests'] else 'NOT met'}"
    )


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="postgresql")
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=SyncOptions().concurrency)
    args = parser.parse_args()
    configure_logging("warning")
    size = (
        f"{args.customers} customers x {len(SERVICES)} services, "
        f"{args.concurrency} customers at a time"
    )
    options = SyncOptions(concurrency=args.concurrency)
    print(f"bench.sync on {harness.conditions()}: {size}")
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="backupjobs-bench-sync-") as folder:
        for backend in backends:
            report(backend, measure(backend, args.customers, Path(folder), options))


if __name__ == "__main__":
    main()
