"""Job pages under load, against the ceiling of the same stack, in the same run.

    python -m bench.pages                      # simulate 2,000 customers x 50 days, measure
    python -m bench.pages --modern-path '/partner/customers/{customer}/jobs'

On a fresh PostgreSQL database: ``backupjobs simulate``, then ``backupjobs serve`` (one
worker) and the ceiling app (bench/ceiling.py: same route, same response body, constant)
each loaded by wrk in turn, with random customers and random tokens, several rounds.
Target: the job pages at >= 0.5x the ceiling.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from bench import harness

TARGET_RATIO = 0.55
TOKENS = 20


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str


def _page(url: str, endpoint: Endpoint, customer: str, access_token: str) -> httpx.Response:
    return httpx.request(
        endpoint.method,
        url + endpoint.path.replace("{customer}", customer),
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )


def _available(url: str, endpoint: Endpoint, customer: str, access_token: str) -> bool:
    """Whether the server has the endpoint (a known customer's page answers 200)."""
    return _page(url, endpoint, customer, access_token).status_code == 200


def measure(
    url: str,
    ceiling_url: str,
    endpoints: Sequence[Endpoint],
    customers: Sequence[str],
    tokens: Sequence[str],
    *,
    seconds: float,
    connections: int,
    rounds: int,
) -> dict[str, tuple[float, float, float]]:
    """Per endpoint: median req/s, median req/s of its ceiling, and the median of the
    rounds' ratios (each round measures both back to back, so the ratio of a round is
    the one least moved by the machine's other work)."""
    figures: dict[str, tuple[float, float, float]] = {}
    for endpoint in endpoints:
        load = {
            "method": endpoint.method,
            "path_template": endpoint.path,
            "customers": customers,
            "tokens": tokens,
            "connections": connections,
        }
        for target in (url, ceiling_url):  # warm up both (caches, connections, JIT of wrk)
            harness.wrk(target, seconds=min(5.0, seconds), **load)  # type: ignore[arg-type]
        app_rates, ceiling_rates = [], []
        for round_number in range(1, rounds + 1):
            ceiling = harness.wrk(ceiling_url, seconds=seconds, **load)  # type: ignore[arg-type]
            served = harness.wrk(url, seconds=seconds, **load)  # type: ignore[arg-type]
            if served.non_2xx or served.errors:
                raise SystemExit(f"{endpoint.name}: failed requests: {served.describe()}")
            print(
                f"  round {round_number}: {endpoint.name} {served.describe()}; "
                f"ceiling {ceiling.describe()}; ratio "
                f"{served.requests_per_second / ceiling.requests_per_second:.2f}"
            )
            app_rates.append(served.requests_per_second)
            ceiling_rates.append(ceiling.requests_per_second)
        figures[endpoint.name] = (
            statistics.median(app_rates),
            statistics.median(ceiling_rates),
            statistics.median(a / c for a, c in zip(app_rates, ceiling_rates, strict=True)),
        )
    return figures


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--v3-path", default=harness.V3_JOBS)
    parser.add_argument(
        "--modern-path",
        default="/partner/customers/{customer}/jobs",
        help="the Modern job feed (GET); skipped if the server does not have it",
    )
    parser.add_argument("--database-url", help="use this simulated database instead of a new one")
    parser.add_argument("--client-id", help="with --database-url: the simulated app")
    parser.add_argument("--client-secret", help="with --database-url: its secret")
    parser.add_argument("--keep", action="store_true", help="keep the new database")
    args = parser.parse_args()

    print(f"bench.pages on {harness.conditions()}")
    if args.database_url:
        run(args, args.database_url, args.client_id, args.client_secret)
        return
    with harness.postgres_database(keep=args.keep) as database_url:
        simulated = harness.simulate(database_url, args.customers, args.days)
        print(
            f"simulate --customers {args.customers} --days {args.days}: "
            f"{simulated.jobs:,} jobs in {simulated.seconds:.0f} s "
            f"({simulated.jobs / simulated.seconds:,.0f} jobs/s)"
        )
        run(args, database_url, simulated.client_id, simulated.client_secret)


def run(args: object, database_url: str, client_id: str, client_secret: str) -> None:
    options = vars(args)
    with harness.backupjobs_server(database_url, workers=1) as server:
        tokens = [harness.token(server.url, client_id, client_secret) for _ in range(TOKENS)]
        customers = harness.customer_ids(server.url, tokens[0])
        endpoints = [Endpoint("v3 jobs", "POST", options["v3_path"])]
        modern = Endpoint("Modern jobs", "GET", options["modern_path"])
        if _available(server.url, modern, customers[0], tokens[0]):
            endpoints.append(modern)
        else:
            print(f"Modern endpoint {modern.path} not on this server: skipped")
        rows = {
            c: len(_page(server.url, endpoints[0], c, tokens[0]).json()["data"])
            for c in customers[:200]
        }
        mean = statistics.mean(rows.values())
        typical = min(rows, key=lambda c: abs(rows[c] - mean))
        pages = [
            {
                "method": e.method,
                "path": e.path,
                "body": _page(server.url, e, typical, tokens[0]).json(),
            }
            for e in endpoints
        ]
        print(
            f"{len(customers):,} customers, {mean:.1f} rows per v3 page on average (first 200); "
            f"the ceiling answers a typical page, {rows[typical]} rows, as a constant"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json") as listing:
            json.dump(pages, listing)
            listing.flush()
            with harness.granian_app(
                "bench.ceiling:create_app", BENCH_CEILING=listing.name
            ) as ceiling:
                figures = measure(
                    server.url,
                    ceiling.url,
                    endpoints,
                    customers,
                    tokens,
                    seconds=options["seconds"],
                    connections=options["connections"],
                    rounds=options["rounds"],
                )
    print(f"\nwrk -t1 -c{options['connections']}, {options['seconds']:.0f} s runs, medians:")
    for name, (served, ceiling, ratio) in figures.items():
        print(
            f"  {name}: {served:,.0f} req/s, ceiling {ceiling:,.0f} req/s, "
            f"ratio {ratio:.2f} (median of the rounds; target >= {TARGET_RATIO}: "
            f"{harness.verdict(ratio, TARGET_RATIO)})"
        )


if __name__ == "__main__":
    main()
