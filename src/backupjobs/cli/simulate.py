"""``simulate``: a partner with many customers and a long, realistic job history.

The jobs go through :class:`backupjobs.store.ingestion.Ingestor`, the code path of the
ingestion API, in large batches written by several connections at once. The same seed and
``--now`` give the same data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text

from backupjobs.cli.common import (
    JsonFlag,
    console,
    emit_json,
    errors,
    fail,
    reported_errors,
    settings,
)
from backupjobs.model import JobRecord
from backupjobs.provisioning import Provisioned, provision
from backupjobs.simulation import SimulatedCustomer, customer_history, partner_plan
from backupjobs.store.database import Database
from backupjobs.store.directory import ConflictError
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.scope import TenantScope

PARTNER_NAME = "Simulated MSP"
APP_NAME = "Simulated app"
#: Records per ingest call: a few customers' whole histories, one transaction each.
BATCH_RECORDS = 5_000
#: Transactions in flight at once on PostgreSQL (SQLite has one writer).
WRITERS = 3


@dataclass(frozen=True, slots=True)
class Simulated:
    partner_id: UUID
    customers: int
    jobs: int
    client_id: str
    client_secret: str

    def as_json(self) -> dict[str, object]:
        return {
            "partnerId": str(self.partner_id),
            "customers": self.customers,
            "jobs": self.jobs,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
        }


def _batches(
    seed: int, customers: int, days: int, now: datetime
) -> Iterator[tuple[int, list[JobRecord]]]:
    """(customers in the batch, their records), whole customers per batch."""
    batch: list[JobRecord] = []
    count = 0
    for index in range(customers):
        batch += customer_history(seed, index, days=days, now=now)[1]
        count += 1
        if len(batch) >= BATCH_RECORDS:
            yield count, batch
            batch, count = [], 0
    if count:
        yield count, batch


async def _create_tenant(db: Database, seed: int, customers: int) -> Provisioned:
    """The partner, its customers (and services that never ran) and an app, made now:
    the app's secret is valid from the real time, whatever the history's end."""
    now = datetime.now(UTC)
    tenants: list[SimulatedCustomer] = [
        customer_history(seed, index, days=0, now=now)[0] for index in range(customers)
    ]
    try:
        return await provision(db, partner_plan(PARTNER_NAME, tenants, APP_NAME), now=now)
    except ConflictError:
        raise fail(
            f"this database already holds the customers of seed {seed}: "
            "use another --seed or a fresh database"
        ) from None


async def run_simulation(
    db: Database,
    *,
    customers: int,
    days: int,
    seed: int,
    now: datetime,
    progress: Progress | None = None,
) -> Simulated:
    """Create the simulated partner, customers, app and history (ending at ``now``) in
    ``db``."""
    await db.migrate()
    made = await _create_tenant(db, seed, customers)
    scope = TenantScope(made.partner_id, made.app.client_id)
    ingestor = Ingestor(db)
    task = progress.add_task("customers", total=customers, jobs=0) if progress else None
    written = 0
    writers = 1 if db.is_sqlite else WRITERS
    queue: asyncio.Queue[tuple[int, list[JobRecord]] | None] = asyncio.Queue(writers)

    async def write() -> None:
        nonlocal written
        while (item := await queue.get()) is not None:
            count, records = item
            result = await ingestor.ingest_batch(scope, list(enumerate(records)))
            if result.rejected:
                raise RuntimeError(f"simulated records rejected: {result.rejected[:3]}")
            written += result.stored
            if progress is not None and task is not None:
                progress.update(task, advance=count, jobs=written)

    tasks = [asyncio.create_task(write()) for _ in range(writers)]
    try:
        for batch in _batches(seed, customers, days, now):
            await queue.put(batch)
            for done in (t for t in tasks if t.done()):
                done.result()  # a failed writer stops the run now
        for _ in tasks:
            await queue.put(None)
        await asyncio.gather(*tasks)
    finally:
        for pending in tasks:
            pending.cancel()
    # Fresh statistics after a bulk load, as an operator would gather them.
    async with db.write() as connection:
        await connection.execute(text("ANALYZE"))
    return Simulated(made.partner_id, customers, written, made.app.client_id, made.app.secret.value)


def simulate(
    customers: Annotated[int, typer.Option("--customers", min=1, help="Number of customers.")],
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="Days of history.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 1,
    now: Annotated[
        datetime | None,
        typer.Option("--now", help="End of the history, UTC (default: the current time)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a partner "Simulated MSP" with CUSTOMERS customers and DAYS days of jobs.

    Prints the partner id, counts and the credentials of an app with every permission.
    """
    config = settings()
    moment = (now.replace(tzinfo=UTC) if now.tzinfo is None else now) if now else datetime.now(UTC)
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("customers, {task.fields[jobs]:,} jobs"),
        TimeElapsedColumn(),
    )

    async def work() -> Simulated:
        db = Database(config.database_url, pool_size=WRITERS + 1)
        try:
            with Progress(*columns, console=errors, transient=as_json) as progress:
                return await run_simulation(
                    db, customers=customers, days=days, seed=seed, now=moment, progress=progress
                )
        finally:
            await db.dispose()

    started = time.monotonic()
    with reported_errors():
        result = asyncio.run(work())
    if as_json:
        emit_json(result.as_json())
        return
    elapsed = time.monotonic() - started
    console.print(
        f"Simulated partner [bold]{PARTNER_NAME}[/bold] {result.partner_id}: "
        f"{result.customers:,} customers, {result.jobs:,} jobs in {elapsed:.0f} s "
        f"({result.jobs / max(elapsed, 1e-9):,.0f} jobs/s).\n"
        f"  client_id      {result.client_id}\n"
        f"  client_secret  {result.client_secret}   (shown once)"
    )
