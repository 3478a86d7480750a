"""The reports against the history they read, each beside a reference in the same run.

    python -m bench.reports                  # simulate 2,000 customers x 50 days
    python -m bench.reports --customers 300 --days 50
    python -m bench.reports --only history --only export   # some parts alone
    python -m bench.reports --keep           # then: --database-url URL --client-id ID ...
    python -m bench.reports --only summary   # the summary against its reference

One PostgreSQL database with a simulated partner. Then, in this process through the
store's functions (what the endpoints call):

- history: p50 of a page of 100 rows 200 cursors deep against the first page
  (target: within 1.2x);
- summary of every customer over 30 days from the kept outcomes against the plain SQL
  aggregate over ``jobs`` for the same window (target: at least 10x faster); the window
  is whole quarter-hours, as the summary counts it, and both must find the same jobs per
  customer and status;

and over HTTP, a ``backupjobs serve`` worker:

- the whole history exported as NDJSON (``--export-format csv``: as CSV), rows per
  second against PostgreSQL's own ``COPY (SELECT ...) TO STDOUT`` of the same rows (aim:
  >= 0.3x), and the worker's RSS growth during it (target: <= 100 MB).
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.database import Database
from backupjobs.store.history import HISTORY_ORDER, JobFilters, history_page, history_statement
from backupjobs.store.keyset import keyset_select
from backupjobs.store.outcomes import quarter_of, quarter_start
from backupjobs.store.schema import JOB_SORT_TIME, jobs
from backupjobs.store.scope import TenantScope
from backupjobs.store.summary import Summary, summarize
from bench import harness

DEPTH = 200
PAGE = 100
ROUNDS = 30
#: Rounds run before measuring: both pages' rows in PostgreSQL's buffers.
WARM_ROUNDS = 3
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
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run this part alone (repeatable)"
    )
    parser.add_argument(
        "--export-encoding",
        default="identity",
        choices=("identity", "gzip"),
        help="the export's Accept-Encoding (identity: as COPY sends it)",
    )
    parser.add_argument(
        "--export-format",
        default="ndjson",
        choices=("ndjson", "csv"),
        help="the export's format (the aim is NDJSON's; CSV's rows omit its header)",
    )
    parser.add_argument("--database-url", help="use this simulated database instead of a new one")
    parser.add_argument("--client-id", help="with --database-url: the simulated app")
    parser.add_argument("--client-secret", help="with --database-url: its secret")
    parser.add_argument("--keep", action="store_true", help="keep the new database")
    args = parser.parse_args()
    parts = set(args.only or PARTS)
    print(f"bench.reports on {harness.conditions()}")
    if args.database_url:
        run(args.database_url, _simulated(args), args, parts)
        return
    with harness.postgres_database(keep=args.keep) as url:
        simulated = harness.simulate(url, args.customers, args.days)
        print(f"  simulated {simulated.jobs:,} jobs in {simulated.seconds:.0f} s")
        print(f"  the app: --client-id {simulated.client_id} --client-secret ...")
        run(url, simulated, args, parts)


def run(url: str, simulated: harness.Simulation, args: Any, parts: set[str]) -> None:
    if parts & {"history", "summary"}:
        asyncio.run(in_process(url, simulated, args.rounds, args.depth, parts))
    if "export" in parts:
        export(url, simulated, args.export_encoding, args.export_format)


def _simulated(args: Any) -> harness.Simulation:
    """The simulation already in ``--database-url``, as ``harness.simulate`` describes one."""

    async def read() -> tuple[UUID, int, int]:
        connection = await asyncpg.connect(args.database_url)
        try:
            partner = await connection.fetchval(
                "SELECT partner_id FROM apps WHERE client_id = $1", args.client_id
            )
            found = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM customers WHERE partner_id = $1),"
                " (SELECT count(*) FROM jobs WHERE partner_id = $1)",
                partner,
            )
            return partner, found[0], found[1]
        finally:
            await connection.close()

    partner, customers, jobs_stored = asyncio.run(read())
    return harness.Simulation(
        str(partner), customers, jobs_stored, args.client_id, args.client_secret, 0.0
    )


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


async def _history(
    connection: AsyncConnection, scope: TenantScope, rounds: int, depth: int
) -> None:
    filters = JobFilters()
    position = None
    for _ in range(depth):
        _, position = await history_page(connection, scope, filters, position, limit=PAGE)
    pages = {"first": None, "deep": position}
    samples: dict[str, list[float]] = {name: [] for name in pages}
    server: dict[str, list[float]] = {name: [] for name in pages}
    for round_ in range(rounds + WARM_ROUNDS):  # interleaved: both see the same load
        for name, at in pages.items():
            started = time.perf_counter()
            await history_page(connection, scope, filters, at, limit=PAGE)
            if round_ >= WARM_ROUNDS:
                samples[name].append(time.perf_counter() - started)
                statement = keyset_select(
                    history_statement(scope, filters), HISTORY_ORDER, at, limit=PAGE
                )
                server[name].append(await _server_seconds(connection, statement))
    first, deep = _p50(samples["first"]), _p50(samples["deep"])
    ratio = deep / first
    verdict = harness.verdict(ratio, HISTORY_TARGET, higher_is_better=False)
    print(
        f"history, {PAGE} rows a page: p50 {first:.2f} ms first page, {deep:.2f} ms {depth} "
        f"cursors deep; ratio {ratio:.2f} (target <= {HISTORY_TARGET}: {verdict})"
    )
    server_first, server_deep = _p50(server["first"]), _p50(server["deep"])
    print(
        f"  of which PostgreSQL's own execution (EXPLAIN ANALYZE, p50): {server_first:.3f} ms "
        f"and {server_deep:.3f} ms; ratio {server_deep / server_first:.2f}"
    )


async def _server_seconds(connection: AsyncConnection, statement: Select[Any]) -> float:
    """PostgreSQL's own execution time of ``statement``, as EXPLAIN ANALYZE reports it."""
    compiled = statement.compile(dialect=connection.dialect)
    bound = compiled.construct_params()
    values = tuple(bound[name] for name in compiled.positiontup or ())
    plan = (
        await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", values)
    ).scalar_one()
    return float(plan[0]["Execution Time"]) / 1000  # the driver decodes the JSON


async def _summary(connection: AsyncConnection, scope: TenantScope, rounds: int) -> None:
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


def export(url: str, simulated: harness.Simulation, encoding: str, form: str) -> None:
    copy_rows, copy_before = asyncio.run(_copy(url, simulated.partner_id))
    with harness.backupjobs_server(url) as server:
        bearer = harness.token(server.url, simulated.client_id, simulated.client_secret)
        pid = server.worker_pids()[0]
        before = _rss_mb(pid)
        peak = [before]
        done = threading.Event()

        def sample() -> None:  # apart from the reading, whatever the chunks' sizes
            while not done.wait(0.05):
                peak.append(_rss_mb(pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        rows = 0
        started = time.perf_counter()
        try:
            with httpx.stream(
                "GET",
                f"{server.url}/api/v1/jobs/export?format={form}",
                headers={"Authorization": f"Bearer {bearer}", "Accept-Encoding": encoding},
                timeout=600,
            ) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_bytes(1 << 20):
                    rows += chunk.count(b"\n")
            seconds = time.perf_counter() - started
            rows -= form == "csv"  # its header
        finally:
            done.set()
            sampler.join()
    _, copy_after = asyncio.run(_copy(url, simulated.partner_id))
    # The reference before and after the export: the machine's load moves meanwhile.
    rate, copy_rate = rows / seconds, 2 * copy_rows / (copy_before + copy_after)
    ratio = rate / copy_rate
    print(
        f"export of the whole history as {form.upper()} ({encoding}): {rows:,} rows in "
        f"{seconds:.1f} s, {rate:,.0f} rows/s; "
        f"COPY ... TO STDOUT of the same rows: {copy_rate:,.0f} rows/s "
        f"({copy_rows / copy_before:,.0f} before, {copy_rows / copy_after:,.0f} after); "
        f"ratio {ratio:.2f} (aim >= {EXPORT_AIM}: {harness.verdict(ratio, EXPORT_AIM)})"
    )
    growth = max(peak) - before
    print(
        f"  worker RSS {before:.0f} MB before, {max(peak):.0f} MB at most during it: "
        f"+{growth:.0f} MB (target <= {RSS_TARGET_MB}: "
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
