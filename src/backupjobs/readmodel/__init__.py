"""The read model: where job pages come from, and what a process keeps of them.

>>> # read_model = ReadModel(db); await read_model.start()
>>> # page = await read_model.job_page(scope, customer_id, rendering=v3_job_row)

Between the HTTP API and the store: it reads through :mod:`backupjobs.store` (the
services statements, the tenant scope), renders through :mod:`backupjobs.wire`, and keeps
what it read and rendered in bounded caches (:class:`~backupjobs.infra.cache.BoundedCache`)
until the change feed, a commit of this process or a new services revision makes it
stale. See ``ARCHITECTURE.md`` for every cache, its bound and when it is forgotten.
"""

from backupjobs.readmodel.changes import ChangeFeed
from backupjobs.readmodel.jobpages import SERVICES_CACHED, ReadModel, ServicesCache
from backupjobs.readmodel.pages import (
    PAGE_CACHE_BYTES,
    CachedPage,
    EncodedPage,
    PageCache,
    RunningPage,
    render_page,
)

__all__ = [
    "PAGE_CACHE_BYTES",
    "SERVICES_CACHED",
    "CachedPage",
    "ChangeFeed",
    "EncodedPage",
    "PageCache",
    "ReadModel",
    "RunningPage",
    "ServicesCache",
    "render_page",
]
