"""What this process may answer without asking PostgreSQL: reads kept until they change.

Every write that changes what the job pages show notifies channel ``backupjobs_changes``
when it commits (triggers, migration ``0004_change_feed``): the customers it changed, or
``*`` for a change of apps or their customer scopes. A :class:`ChangeFeed` listens on a
connection of its own (:attr:`Database.listen_options
<backupjobs.store.database.Database.listen_options>`) and forgets what it kept of the
customers named:

>>> # feed = ChangeFeed(connect_options); await feed.start()
>>> # revision = feed.recall(customer.int, client_id)      # None: ask the database
>>> # if revision is None:
>>> #     ticket = feed.ticket(customer.int)
>>> #     revision = ... read from the database ...
>>> #     feed.keep(ticket, customer.int, client_id, revision)

What it keeps is trusted only while the listening connection is known to be current: a
heartbeat round trip every :data:`HEARTBEAT` seconds, whose answer comes after every
notification of the transactions committed before it was sent. A read kept is therefore
never older than :data:`MAX_LAG` seconds (in practice, than the notification's travel:
well under a millisecond on one host); with the connection lost or slow, nothing is
trusted and every read asks the database, as it does without a feed. A read whose
customer changed while it was in flight is not kept (its ticket is void), and a commit
made through this process forgets everything at once (:meth:`ChangeFeed.forget_all`,
which the read model calls after each of this process's commits that wrote a watched
table: :meth:`Database.write <backupjobs.store.database.Database.write>`), so that what a client
has just written is what it reads next from the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from backupjobs.infra.cache import BoundedCache
from backupjobs.infra.tasks import stop

CHANNEL = "backupjobs_changes"
#: The payload meaning "anything may have changed".
EVERYTHING = "*"
#: Seconds between two heartbeats of the listening connection.
HEARTBEAT = 0.2
#: What is kept is trusted for this many seconds after the last heartbeat was sent.
MAX_LAG = 1.0
#: Seconds to wait before listening again after the connection was lost.
RECONNECT_DELAY = 0.5
#: The listening connection's name in ``pg_stat_activity``.
APPLICATION_NAME = "backupjobs change feed"
#: Customers whose revisions are kept (a few dozen bytes per customer and app); past this,
#: the customers kept longest are forgotten. Also the bound of the change counts behind
#: tickets, which are cleared all at once.
KEPT_CUSTOMERS = 100_000

_log = structlog.get_logger(__name__)


class ChangeFeed:
    """Customers' services revisions as each app read them (the app's client id stands
    for its tenant scope), forgotten when the database says the customer, or any app's
    scope, changed. Trusted only while listening."""

    def __init__(self, connect_options: dict[str, Any]) -> None:
        self._options = connect_options
        # By customer, then app: the revision read.
        self._kept: BoundedCache[int, dict[str, int]] = BoundedCache(KEPT_CUSTOMERS)
        # A ticket is (epoch, the customer's change count): any change of the customer,
        # or of everything, between ticket() and keep() makes it void.
        self._epoch = 0
        self._changes: dict[int, int] = {}
        self._trusted_until = 0.0
        self._task: asyncio.Task[None] | None = None
        # Whether the loss of the listening connection has been logged (once per loss).
        self._lost_logged = False

    @property
    def trusted(self) -> bool:
        """Whether what is kept is current (the heartbeat is recent)."""
        return time.monotonic() < self._trusted_until

    def recall(self, customer: int, app: str) -> int | None:
        """The revision of ``customer`` kept for ``app``, if it is still current."""
        kept = self._kept.get(customer)
        if kept is None or time.monotonic() >= self._trusted_until:
            return None
        return kept.get(app)

    def ticket(self, customer: int) -> tuple[int, int] | None:
        """Taken before reading ``customer`` from the database, for :meth:`keep`."""
        if time.monotonic() >= self._trusted_until:
            return None
        return (self._epoch, self._changes.get(customer, 0))

    def keep(self, ticket: tuple[int, int] | None, customer: int, app: str, revision: int) -> None:
        """Keep ``revision``, read for ``app`` after ``ticket`` was taken, unless the
        customer changed meanwhile."""
        if ticket is None or ticket != (self._epoch, self._changes.get(customer, 0)):
            return
        kept = self._kept.get(customer)
        if kept is None:
            kept = self._kept.put(customer, {})
        kept[app] = revision

    def forget(self, customer: int) -> None:
        self._kept.pop(customer)
        if len(self._changes) >= KEPT_CUSTOMERS:
            # A count per customer changed since the last forget_all, bounded by clearing
            # them all (and voiding every ticket): forgetting one count would let a
            # ticket taken before its changes match again.
            self.forget_all()
            return
        self._changes[customer] = self._changes.get(customer, 0) + 1

    def forget_all(self) -> None:
        self._kept.clear()
        self._changes.clear()
        self._epoch += 1

    async def start(self) -> None:
        """Listen in the background until :meth:`close`; trusted once the first heartbeat
        is answered (this returns then, or after the first attempt failed)."""
        if self._task is not None:
            return
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._listen(first))
        await first

    async def close(self) -> None:
        """Stop listening; nothing is trusted any more (the task's end loses it all)."""
        task, self._task = self._task, None
        await stop(task)

    def _lose(self) -> None:
        self._trusted_until = 0.0
        self.forget_all()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == EVERYTHING:
            self.forget_all()
            return
        try:
            customers = [UUID(text).int for text in payload.split(",")]
        except ValueError:  # not ours: assume the worst
            self.forget_all()
            return
        for customer in customers:
            self.forget(customer)

    async def _listen(self, first: asyncio.Future[None]) -> None:
        while True:
            try:
                await self._follow(first)
            except Exception as error:  # whatever it was: ask the database, listen again
                if not self._lost_logged:  # once per loss, not once per attempt
                    self._lost_logged = True
                    _log.warning("change feed lost, every page asks the database", error=str(error))
            finally:
                self._lose()
                if not first.done():
                    first.set_result(None)
            await asyncio.sleep(RECONNECT_DELAY)

    async def _follow(self, first: asyncio.Future[None]) -> None:
        """Listen on one connection, with heartbeats, until it is lost or a heartbeat
        takes longer than :data:`MAX_LAG`."""
        connection = await asyncpg.connect(
            **self._options, server_settings={"application_name": APPLICATION_NAME}
        )
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def terminated(_connection: Any) -> None:
            self._lose()
            if not lost.done():
                lost.set_result(None)

        try:
            connection.add_termination_listener(terminated)
            await connection.add_listener(CHANNEL, self._notified)
            # Whatever was read before listening may have missed a notification.
            self.forget_all()
            while not lost.done():
                sent = time.monotonic()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                async with asyncio.timeout(MAX_LAG):
                    await connection.fetchval("SELECT 1")
                if lost.done():
                    return
                # Every notification committed before ``sent`` was handled before this.
                self._trusted_until = sent + MAX_LAG
                if self._lost_logged:
                    self._lost_logged = False
                    _log.info("change feed listening again")
                if not first.done():
                    first.set_result(None)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HEARTBEAT):
                        await asyncio.shield(lost)
        finally:
            connection.terminate()
