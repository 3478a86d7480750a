"""The upstreams due, run on their interval: by ``serve`` in the background, and by
``backupjobs sync run`` in the foreground.

>>> # outcomes = await run_due(db, ingestor, options)                 # one round
>>> # await keep_syncing(db, ingestor, options, observe=metrics.sync_run)   # until cancelled

Every process of every host may run the loop: an upstream's lease lets one of them run
it at a time, and the others find it busy and skip it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from backupjobs.store import upstreams
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.upstreams import Upstream
from backupjobs.sync.runner import RunOutcome, SyncOptions, run_upstream

#: How often the loop looks for upstreams due.
POLL_EVERY = timedelta(seconds=5)
_log = structlog.get_logger("backupjobs.sync")

#: Told of each run that ended (the metrics).
Observer = Callable[[RunOutcome], None]
#: Which upstreams a loop runs (default: all).
Selection = Callable[[Upstream], bool]


async def due_upstreams(db: Database, *, now: datetime) -> list[Upstream]:
    """The upstreams whose last run started an interval ago or more (or never ran), and
    whose lease nobody holds."""
    due = []
    async with db.read() as connection:
        for upstream in await upstreams.list_upstreams(connection):
            if upstream.lease_until is not None and upstream.lease_until > now:
                continue
            latest = await upstreams.runs(connection, upstream, limit=1)
            interval = timedelta(seconds=upstream.interval_seconds)
            if not latest or latest[0].started_at + interval <= now:
                due.append(upstream)
    return due


async def run_due(
    db: Database,
    ingestor: Ingestor,
    options: SyncOptions,
    *,
    observe: Observer | None = None,
    only: Selection | None = None,
) -> list[RunOutcome]:
    """Run each upstream due (of those ``only`` selects), one after the other."""
    outcomes = []
    for upstream in await due_upstreams(db, now=datetime.now(UTC)):
        if only is not None and not only(upstream):
            continue
        outcome = await run_upstream(db, ingestor, upstream, options)
        if outcome.busy is None and observe is not None:
            observe(outcome)
        outcomes.append(outcome)
    return outcomes


async def keep_syncing(
    db: Database,
    ingestor: Ingestor,
    options: SyncOptions,
    *,
    observe: Observer | None = None,
    only: Selection | None = None,
    every: timedelta = POLL_EVERY,
) -> None:
    """Run the upstreams due, round after round, until cancelled; errors are logged."""
    while True:
        try:
            await run_due(db, ingestor, options, observe=observe, only=only)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("sync round failed; trying again at the next round")
        await asyncio.sleep(every.total_seconds())
