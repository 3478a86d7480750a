"""Stale detection every minute, in one server process at a time (SPEC §10.5).

>>> # task = asyncio.create_task(watch_stale(db, deliverer))

Each process runs the loop; :func:`backupjobs.store.incidents.detect_stale` lets one
round run at a time (an advisory lock on PostgreSQL, the write lock on SQLite). A
service that stays stale opens one incident and one event per threshold, not one a minute.

Stale is SPEC §10's: no successful job (status 2 or 4) within the threshold, judged by the
service's last success (``backup_services.last_success_time``: the latest successful
job's end, or its start without one, kept by ingestion and retention), from when the
service was first seen if it never succeeded; a service that never ran is never stale
(:func:`backupjobs.model.health.is_stale`). The same column answers ``stale`` in
``/api/v1/services`` and the dashboard, so an alert and the report never disagree, and a
round reads no history (the latest job's own time is jobStatus 6's question, not this).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog

from backupjobs.alerts.deliverer import Deliverer
from backupjobs.store.database import Database
from backupjobs.store.incidents import detect_stale

RUN_EVERY = timedelta(minutes=1)
_log = structlog.get_logger("backupjobs.alerts")


async def watch_stale(db: Database, deliverer: Deliverer, *, every: timedelta = RUN_EVERY) -> None:
    """Detect stale services every ``every`` until cancelled; errors are logged."""
    while True:
        try:
            made = await detect_stale(db, now=datetime.now(UTC))
            if made:
                deliverer.wake()
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("stale detection failed; retrying at the next round")
        await asyncio.sleep(every.total_seconds())
