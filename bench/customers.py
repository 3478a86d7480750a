"""The customers pages with jobStatus, against the same pages without it, in the same run.

    python -m bench.customers                  # 2,000 customers, SQLite and PostgreSQL
    python -m bench.customers --databases sqlite --customers 500

On a new database per backend: ``backupjobs simulate`` (every customer with its services'
latest jobs), then the application in-process (httpx over ASGI: the whole request, token
check, routing, database, rendering, no network) answers every page of the v3 and the
Modern customers listings, in rounds that alternate two ways of building a page:

- reference: the page as it cost before jobStatus and the profile: its customers' id,
  name and creation time;
- served: the page as served: the profile with its tenants, and each customer's jobStatus
  from its services' summary, judged at the time of the request (columns of the customer
  row: still one statement, no service read).

Target: served <= 1.2x the reference, per page.

Then the cost of keeping the services' summary: the next days of every customer's jobs
ingested in batches of 1,000 (``Ingestor``, in-process), batches alternating between
ingestion as it is and ingestion without the summary's update.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import literal, select

from backupjobs.api import build_application
from backupjobs.model import CustomerState
from backupjobs.settings import Settings
from backupjobs.simulation import customer_history
from backupjobs.store import directory
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import customers
from backupjobs.store.scope import TenantScope
from bench import harness

TARGET_RATIO = 1.2
PUBLIC_URL = "http://bench.local"
V3 = "/partner/external/v3/general/customers/batch"
MODERN = "/partner/customers"


#: The columns of a customers page before jobStatus and the profile.
_BEFORE = (customers.c.id, customers.c.partner_id, customers.c.name, customers.c.created_at)


def _row_alone(row: Any, clock: Any) -> CustomerState:
    """The reference: a row as before jobStatus and the profile."""
    return CustomerState(row.id, row.name)


@contextmanager
def reference_pages(enabled: bool) -> Iterator[None]:
    """While ``enabled``, customers pages as they were read before: their columns, no
    services' summary, no tenants."""
    columns, state = directory._CUSTOMER, directory._customer_state
    if enabled:
        directory._CUSTOMER = _BEFORE  # type: ignore[assignment]
        directory._customer_state = _row_alone
    try:
        yield
    finally:
        directory._CUSTOMER = columns
        directory._customer_state = state


async def measure(
    database_url: str, client_id: str, secret: str, *, page_size: int, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Per listing: median ms per page served, median of the reference, median ratio of
    the rounds (each round reads every page both ways, back to back)."""
    settings = Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        rate_limit_app=10**9,
        rate_limit_token_client=10**9,
        rate_limit_token_address=10**9,
    )
    application = build_application(settings)
    figures: dict[str, tuple[float, float, float]] = {}
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            form = {"grant_type": "client_credentials", "client_id": client_id,
                    "client_secret": secret}  # fmt: skip
            token = (await client.post("/connect/token", data=form)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            total = (await client.post(V3, headers=headers)).json()["metadata"]["totalCount"]
            pages = range((total + page_size - 1) // page_size)
            listings = {
                "v3 customers/batch": lambda page: client.post(
                    f"{V3}?pageIndex={page + 1}&pageSize={page_size}", headers=headers
                ),
                "Modern /partner/customers": lambda page: client.get(
                    f"{MODERN}?$top={page_size}&$skip={page * page_size}", headers=headers
                ),
            }
            for name, request in listings.items():

                async def timed(page: int, reference: bool, request: Any = request) -> float:
                    with reference_pages(reference):
                        started = time.perf_counter()
                        response = await request(page)
                        elapsed = time.perf_counter() - started
                    if response.status_code != 200:
                        raise SystemExit(f"{response.request.url}: {response.status_code}")
                    return elapsed * 1000

                served_ms, reference_ms = [], []
                for number in range(rounds + 1):  # round 0 warms up
                    served = reference = 0.0
                    # Page by page, both ways back to back (in turn first): the machine's
                    # other work moves both alike.
                    for page in pages:
                        first = page % 2 == 0
                        one = await timed(page, first)
                        other = await timed(page, not first)
                        reference += one if first else other
                        served += other if first else one
                    if number == 0:
                        continue
                    served_ms.append(served / len(pages))
                    reference_ms.append(reference / len(pages))
                    print(
                        f"  round {number}: {name}: {served_ms[-1]:.2f} ms per page, "
                        f"reference {reference_ms[-1]:.2f} ms, "
                        f"ratio {served_ms[-1] / reference_ms[-1]:.2f}"
                    )
                figures[name] = (
                    statistics.median(served_ms),
                    statistics.median(reference_ms),
                    statistics.median(s / r for s, r in zip(served_ms, reference_ms, strict=True)),
                )
    return figures


@contextmanager
def without_summary(enabled: bool) -> Iterator[None]:
    """While ``enabled``, writes change a customer's revision alone, not its summary."""
    summary = directory.summary_update
    if enabled:
        directory.summary_update = lambda **_: select(literal(1))
    try:
        yield
    finally:
        directory.summary_update = summary


async def ingestion_cost(
    database_url: str, partner_id: str, client_id: str, customers: int, days: int
) -> tuple[float, float, int]:
    """Jobs/s of ingestion with the summary kept, without, and the jobs ingested."""
    later = datetime.now(UTC) + timedelta(days=days + 1)
    records = sorted(
        (
            record
            for index in range(customers)
            for record in customer_history(1, index, days=days, now=later)[1]
        ),
        key=lambda record: record.last_modify_time,
    )
    size = min(1000, max(1, len(records) // 8))  # a smoke run still alternates
    batches = [list(enumerate(records[i : i + size])) for i in range(0, len(records), size)]
    db = Database(database_url)
    ingestor = Ingestor(db)
    scope = TenantScope(uuid.UUID(partner_id), client_id)
    seconds = {True: 0.0, False: 0.0}
    jobs = {True: 0, False: 0}
    try:
        for number, batch in enumerate(batches):
            kept = number % 2 == 0
            with without_summary(not kept):
                started = time.perf_counter()
                await ingestor.ingest_batch(scope, batch)
                seconds[kept] += time.perf_counter() - started
            jobs[kept] += len(batch)
    finally:
        await db.dispose()
    return jobs[True] / seconds[True], jobs[False] / seconds[False], len(records)


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=2, help="of simulated history")
    parser.add_argument("--page-size", type=int, default=50, help="v3's default")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--ingest-days", type=int, default=1, help="of jobs then ingested")
    args = parser.parse_args()

    print(f"bench.customers on {harness.conditions()}")
    results = {}
    ingested: dict[str, tuple[float, float, int]] = {}
    for backend in args.databases.split(","):
        made = harness.sqlite_database() if backend == "sqlite" else harness.postgres_database()
        with made as database_url:
            simulated = harness.simulate(database_url, args.customers, args.days)
            print(
                f"{backend}: simulate --customers {args.customers} --days {args.days}: "
                f"{simulated.jobs:,} jobs in {simulated.seconds:.0f} s"
            )
            results[backend] = asyncio.run(
                measure(
                    database_url,
                    simulated.client_id,
                    simulated.client_secret,
                    page_size=args.page_size,
                    rounds=args.rounds,
                )
            )
            ingested[backend] = asyncio.run(
                ingestion_cost(
                    database_url,
                    simulated.partner_id,
                    simulated.client_id,
                    args.customers,
                    args.ingest_days,
                )
            )
    print(f"\n{args.customers:,} customers, pages of {args.page_size}, medians:")
    for backend, figures in results.items():
        for name, (served, reference, ratio) in figures.items():
            print(
                f"  {backend}, {name}: {served:.2f} ms per page with jobStatus, "
                f"{reference:.2f} ms without; ratio {ratio:.2f} (target <= {TARGET_RATIO}: "
                f"{harness.verdict(ratio, TARGET_RATIO, higher_is_better=False)})"
            )

    print("\nIngestion in batches of up to 1,000 (in-process), alternate batches:")
    for backend, (kept, without, count) in ingested.items():
        print(
            f"  {backend}: {count:,} jobs; {kept:,.0f} jobs/s keeping the services' summary, "
            f"{without:,.0f} jobs/s without; ratio {kept / without:.2f}"
        )


if __name__ == "__main__":
    main()
