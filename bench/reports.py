"""The reports against the history they read, each beside a reference in the same run.

    python -m bench.reports                  # simulate 2,000 customers x 50 days
    python -m bench.reports --customers 300 --days 50
    python -m bench.reports --only summary   # only the summary against its reference

One PostgreSQL database with a simulated partner. Then, in this process through the
store's functions (what the endpoints call):

- history: p50 of a page of 100 rows 200 cursors deep against the first page
  (target: within 1.2x);
- summary of every customer over 30 days from the kept outcomes against the plain SQL
  aggregate over ``jobs`` for the same window (target: at least 10x faster); the window
  is whole quarter-hours, as the summary counts it, and both must find the same jobs per
  customer and status;

and over HTTP, a ``backupjobs serve`` worker:

- the whole history exported as NDJSON, rows per second against PostgreSQL's own
  ``COPY (SELECT ...) TO STDOUT`` of the same rows (aim: >= 0.3x), and the worker's RSS
  growth during it (target: <= 100 MB).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from sqlalchemy import func, select

from backupjobs.store.database import Database
from backupjobs.store.history import JobFilters, history_page
from backupjobs.store.outcomes import quarter_of, quarter_start
from backupjobs.store.schema import JOB_SORT_TIME, jobs
from backupjobs.store.scope import TenantScope
from backupjobs.store.summary import Summary, summarize
from bench import harness

DEPTH = 200
PAGE = 100
ROUNDS = 30
HISTORY_TARGET = 1.2
SUMMARY_TARGET = 10.0
EXPORT_AIM = 0.3
RSS_TARGET_MB = 100
PARTS = ("history", "summary", "export")


def main() -> None:
    parser = harness.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--depth", type=int, default=DEPTH, help="pages deep")
    parser.add_argument("--only", choices=PARTS, action="append", help="these parts alone")
    args = parser.parse_args()
    parts = set(args.only or PARTS)
    print(f"bench.reports on {harness.conditions()}")
    with harness.postgres_database() as url:
        simulated = harness.simulate(url, args.customers, args.days)
        print(f"  simulated {simulated.jobs:,} jobs in {simulated.seconds:.0f} s")
        asyncio.run(in_process(url, simulated, args.rounds, args.depth, parts))
        if "export" in parts:
            export(url, simulated)


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(work: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


async def in_process(
    url: str, simulated: harness.Simulation, rounds: int, depth: int, parts: set[str]
) -> None:
    db = Database(url)
    try:
        scope = TenantScope(UUID(simulated.partner_id), simulated.client_id)
        async with db.read() as connection:
            if "history" in parts:
                await _history(connection, scope, rounds, depth)
            if "summary" in parts:
                await _summary(connection, scope, rounds)
    finally:
        await db.dispose()


async def _history(connection: Any, scope: TenantScope, rounds: int, depth: int) -> None:
    filters = JobFilters()
    position = None
    for _ in range(depth):
        _, position = await history_page(connection, scope, filters, position, limit=PAGE)
    deep = position

    async def first() -> None:
        await history_page(connection, scope, filters, None, limit=PAGE)

    async def deeper() -> None:
        await history_page(connection, scope, filters, deep, limit=PAGE)

    await first(), await deeper()  # warm
    first_ms, deep_ms = [], []
    for _ in range(rounds):  # interleaved, so that both see the same load
        first_ms += await _timed(first, 1)
        deep_ms += await _timed(deeper, 1)
    ratio = _p50(deep_ms) / _p50(first_ms)
    verdict = harness.verdict(ratio, HISTORY_TARGET, higher_is_better=False)
    print(
        f"history, {PAGE} rows a page: p50 {_p50(first_ms):.2f} ms first page, "
        f"{_p50(deep_ms):.2f} ms {depth} cursors deep; ratio {ratio:.2f} (target <= "
        f"{HISTORY_TARGET}: {verdict})"
    )


async def _summary(connection: Any, scope: TenantScope, rounds: int) -> None:
    # Whole quarter-hours: the window the summary counts is then the one asked for, and
    # the plain aggregate's is the same.
    now = quarter_start(quarter_of(datetime.now(UTC)))
    start = now - timedelta(days=30)

    async def kept() -> Summary:
        return await summarize(
            connection,
            scope,
            customer_ids=(),
            start=start,
            end=now,
            now=now,
            stale_after=timedelta(hours=36),
        )

    plain_statement = (
        select(
            jobs.c.customer_id,
            jobs.c.status,
            func.count(),
            func.sum(jobs.c.backup_size_bytes),
        )
        .where(
            scope.conditions.allows(jobs.c.partner_id, jobs.c.customer_id),
            start <= JOB_SORT_TIME,
            now > JOB_SORT_TIME,
        )
        .group_by(jobs.c.customer_id, jobs.c.status)
    )

    async def plain() -> Any:
        return await connection.execute(plain_statement)

    found, counted = await kept(), await plain()
    assert (found.start, found.end) == (start, now)
    assert {
        (customer.customer_id, status, jobs)
        for customer in found.customers
        for status, jobs in customer.window.by_status.items()
    } == {(customer_id, status, jobs) for customer_id, status, jobs, _ in counted}, (
        "the summary and the plain aggregate disagree"
    )
    kept_s, plain_s = [], []
    for _ in range(max(rounds // 3, 5)):
        kept_s += await _timed(kept, 1)
        plain_s += await _timed(plain, 1)
    speedup = _p50(plain_s) / _p50(kept_s)
    print(
        f"summary of every customer over 30 days: p50 {_p50(kept_s):.1f} ms from the "
        f"kept outcomes (with every service's health), {_p50(plain_s):.1f} ms for the "
        f"plain SQL aggregate over jobs; {speedup:.1f}x faster (target >= "
        f"{SUMMARY_TARGET}: {harness.verdict(speedup, SUMMARY_TARGET)})"
    )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def export(url: str, simulated: harness.Simulation) -> None:
    with harness.backupjobs_server(url) as server:
        bearer = harness.token(server.url, simulated.client_id, simulated.client_secret)
        pid = server.worker_pids()[0]
        before = _rss_mb(pid)
        peak = before
        rows = 0
        started = time.perf_counter()
        with httpx.stream(
            "GET",
            f"{server.url}/api/v1/jobs/export?format=ndjson",
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=600,
        ) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                rows += chunk.count(b"\n")
                peak = max(peak, _rss_mb(pid))
        seconds = time.perf_counter() - started
    copy_rows, copy_seconds = asyncio.run(_copy(url, simulated.partner_id))
    rate, copy_rate = rows / seconds, copy_rows / copy_seconds
    ratio = rate / copy_rate
    print(
        f"export of the whole history as NDJSON: {rows:,} rows in {seconds:.1f} s, "
        f"{rate:,.0f} rows/s; COPY ... TO STDOUT of the same rows: {copy_rate:,.0f} rows/s; "
        f"ratio {ratio:.2f} (aim >= {EXPORT_AIM}: {harness.verdict(ratio, EXPORT_AIM)})"
    )
    growth = peak - before
    print(
        f"  worker RSS {before:.0f} MB before, {peak:.0f} MB at most during it: +{growth:.0f} "
        f"MB (target <= {RSS_TARGET_MB}: "
        f"{harness.verdict(growth, RSS_TARGET_MB, higher_is_better=False)})"
    )


async def _copy(url: str, partner_id: str) -> tuple[int, float]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    received = 0

    async def sink(data: bytes) -> None:
        nonlocal received
        received += data.count(b"\n")

    try:
        started = time.perf_counter()
        await connection.copy_from_query(
            "SELECT j.*, c.name FROM jobs j JOIN customers c ON c.partner_id = j.partner_id"
            " AND c.id = j.customer_id WHERE j.partner_id = $1"
            " ORDER BY coalesce(j.start_time, j.last_modify_time) DESC, j.job_id DESC",
            UUID(partner_id),
            output=sink,
        )
        return received, time.perf_counter() - started
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
