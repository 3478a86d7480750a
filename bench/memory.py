"""Peak server memory under load, with 1 and with 2 workers.

    python -m bench.memory                  # simulate 2,000 customers x 50 days first

``backupjobs serve --workers N`` on a simulated PostgreSQL database, loaded at once by wrk
on the job pages of every customer (random customers and tokens) and by ingestion clients
posting batches of 1,000 records; then each worker's peak resident memory (``VmHWM``).
Target: <= 200 MB per worker.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import harness
from bench.ingest import bodies, post_all

TARGET_MB = 200
TOKENS = 20


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size, in MB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def measure(url: str, simulated: harness.Simulation, workers: int, args: Any) -> dict[str, Any]:
    # New jobs for the first customers, days after the simulated history.
    later = datetime.now(UTC) + timedelta(days=4)
    batches, records = bodies(args.ingest_customers, 3, later, seed=1)  # simulate's seed
    with harness.backupjobs_server(url, workers=workers) as server:
        tokens = [
            harness.token(server.url, simulated.client_id, simulated.client_secret)
            for _ in range(TOKENS)
        ]
        load = {
            "method": "POST",
            "path_template": harness.V3_JOBS,
            "customers": harness.customer_ids(server.url, tokens[0]),
            "tokens": tokens,
            "connections": args.connections,
        }
        harness.wrk(server.url, seconds=3, **load)
        ingested: dict[str, int] = {}

        def ingest() -> None:
            ingested.update(asyncio.run(post_all(server.url, tokens[0], batches, 2)).totals)

        writer = threading.Thread(target=ingest)
        writer.start()
        pages = harness.wrk(server.url, seconds=args.seconds, **load)
        writer.join()
        peaks = [peak_rss_mb(pid) for pid in server.worker_pids()]
    if pages.non_2xx or pages.errors or ingested.get("stored") != records:
        raise SystemExit(f"failed under load: {pages.describe()}, ingestion {ingested}")
    return {"peaks": peaks, "pages": pages, "records": records}


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--ingest-customers", type=int, default=300)
    args = parser.parse_args()
    print(f"bench.memory on {harness.conditions()}")
    results = {}
    with harness.postgres_database() as url:
        simulated = harness.simulate(url, args.customers, args.days)
        print(f"  simulated {simulated.jobs:,} jobs")
        for workers in (1, 2):
            results[workers] = measure(url, simulated, workers, args)
            # The second run ingests the same jobs again: they come back as updates.
    print()
    for workers, result in results.items():
        peaks = ", ".join(f"{peak:.0f}" for peak in result["peaks"])
        worst = max(result["peaks"])
        print(
            f"  {workers} worker(s): peak RSS per worker {peaks} MB (target <= {TARGET_MB}: "
            f"{harness.verdict(worst, TARGET_MB, higher_is_better=False)}); job pages "
            f"{result['pages'].describe()} while {result['records']:,} jobs were ingested"
        )


if __name__ == "__main__":
    main()
