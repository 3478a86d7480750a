"""The alerts of one server process: the secrets' key, the deliverer, stale detection.

On PostgreSQL the deliverer has two connections of its own (:data:`DELIVERY_POOL`), not
the application's pool: requests waiting on ingestion's row locks held every pooled
connection at 200 failed jobs a second, and the claims of events already committed
waited behind them, seconds each (``docs/scaling.md``, "Alerts", 2026-12-04).

>>> # alerts = Alerts(db, allow_private=False, metrics=metrics)
>>> # await alerts.start()     # in the application's lifespan
>>> # claimed = alerts.claim_here()   # before an ingestion that may make deliveries
>>> # alerts.take(claimed)            # after its commit, if it made some
>>> # await alerts.close()
"""

from __future__ import annotations

import asyncio
from typing import Any

from backupjobs.alerts.deliverer import Deliverer
from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.alerts.service import load_secret_box
from backupjobs.alerts.stale import watch_stale
from backupjobs.infra.secretbox import SecretBox
from backupjobs.infra.tasks import stop
from backupjobs.store.database import Database
from backupjobs.store.webhooks import ClaimedHere

#: The deliverer's connections on PostgreSQL: one for a round's claim, one for recording
#: outcomes, both kept. (A pool of 1 closed its overflow connection after each use, and
#: the rounds and recordings that overlap under load opened a new one each time.)
DELIVERY_POOL = 2


class Alerts:
    def __init__(
        self,
        db: Database,
        *,
        allow_private: bool,
        metrics: AlertMetrics | None = None,
        **deliverer_options: Any,
    ) -> None:
        self._db = db
        self.allow_private = allow_private
        self.metrics = metrics
        #: Options of the deliverer made at start (tests and benches shorten its delays).
        self.deliverer_options = deliverer_options
        self._box: SecretBox | None = None
        self._delivery_db: Database | None = None
        self.deliverer: Deliverer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def box(self) -> SecretBox:
        """What seals and opens the subscriptions' secrets."""
        if self._box is None:
            raise RuntimeError("Alerts.start() was not awaited at start-up")
        return self._box

    async def start(self, *, deliver: bool = True) -> None:
        """Load the key; with ``deliver``, start delivering and detecting staleness."""
        self._box = await load_secret_box(self._db)
        if not deliver:
            return
        delivery_db = self._db
        if not self._db.is_sqlite:
            delivery_db = self._delivery_db = Database(
                self._db.url.render_as_string(hide_password=False),
                pool_size=DELIVERY_POOL,
                timeout=self._db.timeout,
            )
        self.deliverer = Deliverer(
            delivery_db,
            self._box,
            allow_private=self.allow_private,
            metrics=self.metrics,
            **self.deliverer_options,
        )
        self._tasks = [
            asyncio.create_task(self.deliverer.run()),
            asyncio.create_task(watch_stale(self._db, self.deliverer)),
        ]

    def wake(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake()

    def claim_here(self) -> ClaimedHere | None:
        """A claim for the deliveries an ingestion is about to write, when this process
        delivers (:meth:`.Deliverer.claim_here`); None when it does not."""
        return self.deliverer.claim_here() if self.deliverer is not None else None

    def take(self, claimed: ClaimedHere | None) -> None:
        """After the commit of a transaction that wrote deliveries claimed with
        :meth:`claim_here`: send them (None, from a process that does not deliver: the
        others' rounds will)."""
        if self.deliverer is not None and claimed is not None:
            self.deliverer.take(claimed)

    async def close(self) -> None:
        for task in self._tasks:
            await stop(task)
        self._tasks = []
        if self._delivery_db is not None:
            await self._delivery_db.dispose()
            self._delivery_db = None
