"""The one place job pages come from: :meth:`ReadModel.job_page`.

>>> # read_model = ReadModel(db); await read_model.start()
>>> # page = await read_model.job_page(scope, customer_id, job_type=7, offset=0,
>>> #                                  limit=100, rendering=v3_job_row)
>>> # page.rows, page.count, page.total       # None: the customer is not visible

A page costs, in order of preference:

1. **Nothing from the database**, on PostgreSQL while the change feed is current: the
   customer's services revision, as last read for this app, is kept until a change of
   the customer (or of any app's scope) is notified (:mod:`.changes`), and the page for
   that revision, filters and paging is in the :class:`~.pages.PageCache`.
2. **One key lookup**: the customer's revision, if this app may see the customer
   (:func:`backupjobs.store.services.services_revision`). On SQLite, and with a read
   replica, every page goes this way; the page itself may then still be kept.
3. **The services**, read with their revision, when the :class:`ServicesCache` does not
   hold them at that revision; the page is then cut from them and rendered once.

A 404 (the customer not visible) is never kept: it asks the database every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from backupjobs.infra.cache import BoundedCache
from backupjobs.model import ServiceState
from backupjobs.readmodel.changes import ChangeFeed
from backupjobs.readmodel.pages import PAGE_CACHE_BYTES, EncodedPage, PageCache, render_page
from backupjobs.store.database import Database
from backupjobs.store.scope import TenantScope
from backupjobs.store.services import read_services, services_revision
from backupjobs.wire import JobRendering

#: Services kept per process (about half a kilobyte each); past this, the customers read
#: longest ago are forgotten first.
SERVICES_CACHED = 40_000


class ServicesCache(BoundedCache[tuple[int, int], list[ServiceState]]):
    """Customers' services by (customer id as an integer, services revision), at most
    ``capacity`` services in all, oldest first. A revision names one content for good,
    so an entry never goes stale: it stops being asked for."""

    __slots__ = ()

    def __init__(self, capacity: int = SERVICES_CACHED) -> None:
        super().__init__(capacity, weigh=len)


class ReadModel:
    """The job pages of one database, as this process serves them, and what it keeps of
    them: the change feed's revisions, the services and the pages.

    Created with the application; :meth:`start` follows the database's changes
    (PostgreSQL, pages read from the primary), :meth:`close` stops. A commit made through
    ``db`` in this process that wrote a watched table forgets every revision kept
    (:meth:`Database.after_commit`), so that what a client has just written is what it
    reads next.
    """

    def __init__(
        self,
        db: Database,
        *,
        services_cached: int = SERVICES_CACHED,
        page_cache_bytes: int = PAGE_CACHE_BYTES,
    ) -> None:
        self._db = db
        self.services = ServicesCache(services_cached)
        self.pages = PageCache(page_cache_bytes)
        #: Revisions kept until they change (once :meth:`start` has started it); None
        #: without one: every page asks the database for its revision.
        self.changes: ChangeFeed | None = None
        db.after_commit(self._committed)

    async def start(self) -> None:
        """Follow the database's changes, if its pages are read where it notifies them."""
        options = self._db.listen_options
        if options is not None and self.changes is None:
            self.changes = ChangeFeed(options)
            await self.changes.start()

    async def close(self) -> None:
        if self.changes is not None:
            await self.changes.close()
            self.changes = None

    def _committed(self) -> None:
        # What this process kept may be what it just changed; other processes hear of it
        # from the database.
        if self.changes is not None:
            self.changes.forget_all()

    async def job_page(
        self,
        scope: TenantScope,
        customer_id: UUID,
        *,
        job_type: int | None = None,
        job_module: int | None = None,
        offset: int = 0,
        limit: int = 100,
        rendering: JobRendering,
        now: datetime | None = None,
    ) -> EncodedPage | None:
        """One page of a customer's service rows (each service's latest job, or its
        placeholder), rendered by ``rendering`` at ``now``; None if ``scope`` does not see
        the customer.

        Rows are ordered by jobType, then jobModule; ``job_type`` and ``job_module``
        filter; ``offset`` and ``limit`` cut.
        """
        when = now or datetime.now(UTC)
        customer = customer_id.int
        # The app's client id stands for its scope: unique, and one partner's. (A
        # string's hash is cached; a scope's is computed anew.)
        app = scope.client_id
        changes = self.changes
        revision = changes.recall(customer, app) if changes is not None else None
        services = None
        if revision is not None:
            key = (customer, app, revision, job_type, job_module, offset, limit, rendering)
            kept = self.pages.get(key)
            if kept is not None:
                return kept.at(when)
            services = self.services.get((customer, revision))
        if services is None:
            read = await self._read(scope, customer_id)
            if read is None:
                return None
            revision, services = read
            key = (customer, app, revision, job_type, job_module, offset, limit, rendering)
            kept = self.pages.get(key)
            if kept is not None:
                return kept.at(when)
        chosen = _chosen(services, job_type, job_module)
        page = render_page(chosen[offset : offset + limit], rendering, when, total=len(chosen))
        return self.pages.put(key, page).at(when)

    async def _read(
        self, scope: TenantScope, customer_id: UUID
    ) -> tuple[int, list[ServiceState]] | None:
        """The customer's revision and services as the database has them now (the
        services from the cache if it holds that revision's); None if not visible. The
        revision is kept by the change feed, unless the customer changed meanwhile."""
        changes = self.changes
        customer = customer_id.int
        ticket = changes.ticket(customer) if changes is not None else None
        revision = await services_revision(self._db, scope, customer_id)
        if revision is None:
            return None
        services = self.services.get((customer, revision))
        if services is None:
            # Read now, they may be newer than the revision read above: they come with
            # theirs.
            read = await read_services(self._db, scope, customer_id)
            if read is None:
                return None
            revision, services = read
            self.services.put((customer, revision), services)
        if changes is not None:
            changes.keep(ticket, customer, scope.client_id, revision)
        return revision, services


def _chosen(
    services: list[ServiceState], job_type: int | None, job_module: int | None
) -> Sequence[ServiceState]:
    if job_type is None and job_module is None:
        return services
    return [
        service
        for service in services
        if job_type in (None, service.job_type) and job_module in (None, service.job_module)
    ]
