"""Ingestion through the HTTP API in batches of 1,000, on PostgreSQL and SQLite; and the
time ``simulate`` takes to write its history.

    python -m bench.ingest                      # both databases, then simulate 2,000 x 50
    python -m bench.ingest --backend postgresql --no-simulate

For each database: a fresh one, a tenant made by ``backupjobs simulate`` (its history
ending long ago), ``backupjobs serve``, then the tenant's recent history posted as
``POST /api/v1/ingest/jobs`` bodies of 1,000 records by several clients at once (bodies
encoded before the clock starts). Targets: >= 20,000 jobs/s on PostgreSQL; simulate of
about 2M jobs in <= 5 minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from backupjobs.model import JobRecord
from backupjobs.simulation import customer_history
from bench import harness

TARGET_JOBS_PER_SECOND = 20_000
TARGET_SIMULATE_SECONDS = 300
BATCH = 1_000
_SEED = 7


def _record(job: JobRecord) -> dict[str, Any]:
    """The wire form of a job record (what a backup engine posts)."""
    fields = msgspec.structs.asdict(job)
    record = {
        "jobId": fields["job_id"],
        "customerId": str(fields["customer_id"]),
        "jobType": fields["job_type"],
        "jobModule": fields["job_module"],
        "status": fields["status"],
        "name": fields["name"],
        "totalCount": fields["total_count"],
        "failedCount": fields["failed_count"],
        "successfulCount": fields["successful_count"],
        "skippedCount": fields["skipped_count"],
        "warningCount": fields["warning_count"],
        "backupSizeBytes": fields["backup_size_bytes"],
    }
    for name, value in (
        ("startTime", job.start_time),
        ("endTime", job.end_time),
        ("lastModifyTime", job.last_modify_time),
    ):
        record[name] = value.isoformat() if value else None
    return record


def bodies(
    customers: int, days: int, now: datetime, *, seed: int = _SEED
) -> tuple[list[bytes], int]:
    """Request bodies of ``BATCH`` records: ``days`` of the simulated tenant's jobs, in the
    order they finished, as engines would report them (each batch spans the customers)."""
    jobs = [
        job
        for index in range(customers)
        for job in customer_history(seed, index, days=days, now=now)[1]
    ]
    jobs.sort(key=lambda job: job.last_modify_time)
    records = [_record(job) for job in jobs]
    encoder = msgspec.json.Encoder()
    batches = [
        encoder.encode(records[start : start + BATCH]) for start in range(0, len(records), BATCH)
    ]
    return batches, len(records)


#: Times the clients' connections are opened again, at most, to spread them evenly.
SPREAD_ATTEMPTS = 50


@dataclass(frozen=True)
class Posted:
    """What :func:`post_all` did: the answers' totals; from the first body sent to the
    last answer, the seconds; and each process's CPU time when the first body went
    (:func:`.harness.cpu_seconds`), for :func:`.harness.cpu_used` after."""

    totals: dict[str, int]
    seconds: float
    cpu_before: dict[int, tuple[str, float]]


async def post_all(
    url: str,
    access_token: str,
    batches: list[bytes],
    clients: int,
    *,
    workers: Sequence[int] = (),
) -> Posted:
    """Send every body, ``clients`` requests in flight, each client on a connection of its
    own, spread evenly over the server's ``workers`` (:func:`_connected`) before the clock
    starts."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in batches:
        queue.put_nowait(body)
    totals = {"stored": 0, "stale": 0, "rejected": 0}
    headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            response = await http.post("/api/v1/ingest/jobs", content=body, headers=headers)
            response.raise_for_status()
            answer = response.json()
            totals["stored"] += answer["stored"]
            totals["stale"] += answer["stale"]
            totals["rejected"] += len(answer["rejected"])

    connected = await _connected(url, clients, workers)
    try:
        cpu_before = harness.cpu_seconds()
        started = time.monotonic()
        await asyncio.gather(*(client(http) for http in connected))
        seconds = time.monotonic() - started
    finally:
        for http in connected:
            await http.aclose()
    return Posted(totals, seconds, cpu_before)


async def _connected(url: str, clients: int, workers: Sequence[int]) -> list[httpx.AsyncClient]:
    """``clients`` HTTP clients of one kept-alive connection each, opened again until no
    worker of ``workers`` holds more of them than another but one. The kernel may hand all
    of a few connections opened together to one worker, and a run where it did measures
    that worker, not the server: up to a fifth slower or faster, whatever the code
    (``docs/scaling.md``, 2026-12-06)."""
    port = httpx.URL(url).port or 80
    for _ in range(SPREAD_ATTEMPTS):
        connected = [
            httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=1))
            for _ in range(clients)
        ]
        for http in connected:
            (await http.get("/healthz")).raise_for_status()
        held = harness.connections_by_process(port, workers).values()
        if not held or max(held) - min(held) <= 1:
            return connected
        for http in connected:
            await http.aclose()
    raise SystemExit(f"the {clients} connections did not spread over {len(workers)} workers")


def measure(database_url: str, args: Any) -> float:
    """Jobs per second ingested over HTTP into ``database_url``."""
    now = datetime.now(UTC).replace(microsecond=0)
    # The tenant, its customers and app; its history ends before the one posted here.
    simulated = harness.simulate(
        database_url,
        args.customers,
        1,
        seed=_SEED,
        now=(now - timedelta(days=args.days + 2)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    batches, records = bodies(args.customers, args.days, now)
    with harness.backupjobs_server(database_url, workers=args.workers) as server:
        access_token = harness.token(server.url, simulated.client_id, simulated.client_secret)
        warm = asyncio.run(post_all(server.url, access_token, batches[:1], 1)).totals
        posted = asyncio.run(
            post_all(
                server.url, access_token, batches[1:], args.clients, workers=server.worker_pids()
            )
        )
        used = harness.cpu_used(posted.cpu_before)
        split = harness.server_split(posted.cpu_before)
    # The timed jobs: all but the warm-up batch's (none, when there is only that batch).
    timed, seconds = posted.totals["stored"], posted.seconds
    if timed + warm["stored"] != records or posted.totals["rejected"]:
        raise SystemExit(f"expected {records:,} stored, got {posted.totals} and {warm}")
    rate = timed / max(seconds, 1e-9)
    print(
        f"  {timed:,} jobs in {len(batches) - 1} requests of {BATCH:,}, "
        f"{args.clients} clients, {args.workers} worker(s): {seconds:.1f} s, {rate:,.0f} jobs/s"
    )
    print(f"    CPU while posting: {harness.describe_cpu(used, split)}")
    return rate


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--customers", type=int, default=200, help="tenant size")
    parser.add_argument("--days", type=int, default=30, help="days of jobs posted")
    parser.add_argument("--clients", type=int, default=4, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (the cores)")
    parser.add_argument("--simulate-customers", type=int, default=2000)
    parser.add_argument("--simulate-days", type=int, default=50)
    parser.add_argument("--no-simulate", action="store_true", help="skip the simulate timing")
    args = parser.parse_args()

    print(f"bench.ingest on {harness.conditions()}")
    results = {}
    if args.backend in ("postgresql", "both"):
        print("PostgreSQL:")
        with harness.postgres_database() as url:
            results["postgresql"] = measure(url, args)
    if args.backend in ("sqlite", "both"):
        print("SQLite:")
        with harness.sqlite_database() as url:
            results["sqlite"] = measure(url, args)
    simulated = None
    if not args.no_simulate:
        with harness.postgres_database() as url:
            simulated = harness.simulate(url, args.simulate_customers, args.simulate_days)
    print("\nresults:")
    for backend, rate in results.items():
        verdict = (
            f" (target >= {TARGET_JOBS_PER_SECOND:,}: "
            f"{harness.verdict(rate, TARGET_JOBS_PER_SECOND)})"
            if backend == "postgresql"
            else ""
        )
        print(f"  HTTP ingestion, {backend}: {rate:,.0f} jobs/s{verdict}")
    if simulated is not None:
        print(
            f"  simulate --customers {args.simulate_customers} --days {args.simulate_days} "
            f"(PostgreSQL): {simulated.jobs:,} jobs in {simulated.seconds:.0f} s, "
            f"{simulated.jobs / simulated.seconds:,.0f} jobs/s (target <= "
            f"{TARGET_SIMULATE_SECONDS} s: "
            f"{harness.verdict(simulated.seconds, TARGET_SIMULATE_SECONDS, higher_is_better=False)}"
            ")"
        )


if __name__ == "__main__":
    main()
