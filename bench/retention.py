"""Retention on PostgreSQL: what removing old history costs, and why it is done this way.

    python -m bench.retention                   # simulate 2,000 customers x 50 days first
    python -m bench.retention --database-url postgresql://.../simulated --days 50

On copies of a simulated database (``CREATE DATABASE ... TEMPLATE``):

1. ``store.retention.run_once`` keeping one day less than the history (a daily round),
   again with nothing left to remove, and keeping half of it;
2. the same removal as one plain ``DELETE`` (no chunks), for comparison;
3. ingestion with and without an index on ``jobs.start_time`` (what a global time index
   would cost every write; retention here uses the per-service index instead).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, text

from backupjobs.simulation import customer_history
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.retention import run_once
from backupjobs.store.schema import apps, backup_services, customers, jobs
from backupjobs.store.scope import TenantScope
from bench import harness


@contextmanager
def copy_of(source_url: str) -> Iterator[str]:
    """A copy of the database at ``source_url`` (which must have no open connection)."""
    source = urlsplit(source_url).path.lstrip("/")
    name = f"backupjobs_bench_{uuid.uuid4().hex[:10]}"
    harness.admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield urlsplit(source_url)._replace(path=f"/{name}").geturl()
    finally:
        harness.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _timed_retention(url: str, keep_days: int) -> tuple[int, float]:
    db = Database(url)
    try:
        started = time.monotonic()
        removed = await run_once(db, keep_days)
        return removed or 0, time.monotonic() - started
    finally:
        await db.dispose()


async def _plain_delete(url: str, keep_days: int) -> tuple[int, float]:
    """The same removal as one statement."""
    db = Database(url)
    before = datetime.now(UTC) - timedelta(days=keep_days)
    latest = (
        select(backup_services.c.latest_job_id)
        .where(
            backup_services.c.partner_id == jobs.c.partner_id,
            backup_services.c.customer_id == jobs.c.customer_id,
            backup_services.c.job_type == jobs.c.job_type,
            backup_services.c.job_module == jobs.c.job_module,
        )
        .scalar_subquery()
    )
    try:
        started = time.monotonic()
        async with db.write() as connection:
            done = await connection.execute(
                delete(jobs).where(
                    jobs.c.start_time < before, jobs.c.job_id != func.coalesce(latest, "")
                )
            )
        return done.rowcount or 0, time.monotonic() - started
    finally:
        await db.dispose()


async def _ingest_rate(url: str, batches: int, *, extra_index: bool) -> float:
    """Jobs/s written by ``Ingestor.ingest`` in batches of 1,000 (new jobs)."""
    db = Database(url)
    try:
        async with db.write() as connection:
            if extra_index:
                await connection.execute(text("CREATE INDEX bench_jobs_start ON jobs (start_time)"))
            partner_id, client_id = (
                await connection.execute(select(apps.c.partner_id, apps.c.client_id).limit(1))
            ).one()
            count = await connection.scalar(
                select(func.count())
                .select_from(customers)
                .where(customers.c.partner_id == partner_id)
            )
        scope = TenantScope(partner_id, client_id)
        # The simulated customers (seed 1), a week in the future: all new jobs.
        now = datetime.now(UTC) + timedelta(days=8)
        records = [
            record
            for index in range(count)
            for record in customer_history(1, index, days=7, now=now)[1]
        ]
        records.sort(key=lambda record: record.last_modify_time)
        records = records[: batches * 1000]
        ingestor = Ingestor(db)
        started = time.monotonic()
        for start in range(0, len(records), 1000):
            chunk = list(enumerate(records[start : start + 1000]))
            async with db.write() as connection:
                await ingestor.ingest(connection, scope, chunk, now=datetime.now(UTC))
        return len(records) / (time.monotonic() - started)
    finally:
        await db.dispose()


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a simulated PostgreSQL database to copy")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=50, help="days of history simulated")
    parser.add_argument("--batches", type=int, default=30, help="ingestion batches compared")
    args = parser.parse_args()
    print(f"bench.retention on {harness.conditions()}")
    if args.database_url:
        run(args.database_url, args)
        return
    with harness.postgres_database() as url:
        simulated = harness.simulate(url, args.customers, args.days)
        print(f"simulated {simulated.jobs:,} jobs ({args.customers} customers x {args.days} days)")
        run(url, args)


def run(url: str, args: object) -> None:
    options = vars(args)
    days = options["days"]
    with copy_of(url) as copy:
        removed, seconds = asyncio.run(_timed_retention(copy, days - 1))
        print(
            f"  retention keeping {days - 1} days (a daily round): {removed:,} jobs removed "
            f"in {seconds:.1f} s"
        )
        removed, seconds = asyncio.run(_timed_retention(copy, days - 1))
        print(f"  the same again, nothing left to remove: {seconds:.1f} s")
        removed, seconds = asyncio.run(_timed_retention(copy, days // 2))
        print(
            f"  keeping {days // 2} days: {removed:,} jobs removed in {seconds:.1f} s "
            f"({removed / max(seconds, 1e-9):,.0f} jobs/s), transactions of 500 services"
        )
    with copy_of(url) as copy:
        removed, seconds = asyncio.run(_plain_delete(copy, days // 2))
        print(
            f"  for comparison, one plain DELETE keeping {days // 2} days: {removed:,} jobs "
            f"in {seconds:.1f} s, in one transaction (locks and WAL held throughout)"
        )
    rates = {}
    for extra_index in (False, True):
        with copy_of(url) as copy:
            rates[extra_index] = asyncio.run(
                _ingest_rate(copy, options["batches"], extra_index=extra_index)
            )
    print(
        f"  ingestion (Ingestor.ingest, batches of 1,000): {rates[False]:,.0f} jobs/s; "
        f"with an index on jobs.start_time: {rates[True]:,.0f} jobs/s "
        f"({(rates[True] / rates[False] - 1) * 100:+.0f}%)"
    )


if __name__ == "__main__":
    main()
