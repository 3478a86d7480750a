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
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from backupjobs.api import build_application
from backupjobs.model import CustomerState
from backupjobs.settings import Settings
from backupjobs.store import directory
from bench import harness

TARGET_RATIO = 1.2
PUBLIC_URL = "http://bench.local"
V3 = "/partner/external/v3/general/customers/batch"
MODERN = "/partner/customers"


#: The columns of a customers page before jobStatus and the profile.
_BEFORE = (
    directory.customers.c.id,
    directory.customers.c.partner_id,
    directory.customers.c.name,
    directory.customers.c.created_at,
)


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
        directory._CUSTOMER = columns  # type: ignore[assignment]
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
        transport = httpx.ASGITransport(app=application)
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

                async def every_page(
                    reference: bool, request: Any = request, name: str = name
                ) -> float:
                    with reference_pages(reference):
                        started = time.perf_counter()
                        for page in pages:
                            response = await request(page)
                            if response.status_code != 200:
                                raise SystemExit(f"{name}: {response.status_code}")
                        return (time.perf_counter() - started) * 1000 / len(pages)

                await every_page(True), await every_page(False)  # warm up
                served_ms, reference_ms = [], []
                for number in range(1, rounds + 1):
                    reference_ms.append(await every_page(True))
                    served_ms.append(await every_page(False))
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


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=2, help="of simulated history")
    parser.add_argument("--page-size", type=int, default=50, help="v3's default")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()

    print(f"bench.customers on {harness.conditions()}")
    results = {}
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
    print(f"\n{args.customers:,} customers, pages of {args.page_size}, medians:")
    for backend, figures in results.items():
        for name, (served, reference, ratio) in figures.items():
            print(
                f"  {backend}, {name}: {served:.2f} ms per page with jobStatus, "
                f"{reference:.2f} ms without; ratio {ratio:.2f} (target <= {TARGET_RATIO}: "
                f"{harness.verdict(ratio, TARGET_RATIO, higher_is_better=False)})"
            )


if __name__ == "__main__":
    main()
