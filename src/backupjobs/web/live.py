"""The ETags of the pages that update themselves (overview, customer, attention), known
before the page is read: a poll that finds nothing changed costs one short statement and
no rendering.

>>> # etag = await live_etag(request, user, db, customer_id=None)   # the whole partner
>>> # if etag_matches(request, etag): return not_modified(etag)
>>> # ... read and render the page, answered with that ETag (render.page(etag=etag))

An ETag digests what the page is made of besides the request's own cookies and query:

- the data's revision: the ``services_revision`` of the customer (the customer page), or
  of every customer of the partner, with their number (the overview, the attention
  list). Ingestion gives a customer a new random revision in the transaction that
  changes one of its services' latest job (:func:`backupjobs.store.directory.services_changed`),
  so a new job, a service enabled or disabled, a customer added or removed changes it;
- the minute (:data:`LIVE_SECONDS`): health, windows and "today" move with the time,
  stale detection runs every minute, and a job that arrives out of order (older than its
  service's latest, so no new revision) shows in its customer's history and charts within
  a minute rather than at once, as does an operator's change to a customer's profile (its
  name: no new revision either);
- the user (id and role: the navigation), the cookie behind the page's CSRF token, the
  viewer's time zone cookie, the path and query, and this program's version.

The change feed of the read model (:mod:`backupjobs.readmodel.changes`) is not used: it
knows customers, not partners, exists on PostgreSQL only, and a page's revision must be
the same in every process so that a poll answered by another worker still gets its 304.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from uuid import UUID

from litestar import Request, Response
from sqlalchemy import func, select

from backupjobs import __version__
from backupjobs.auth.users import User
from backupjobs.store.database import Database
from backupjobs.store.schema import customers
from backupjobs.web.render import csrf_cookie

#: Seconds an unchanged revision keeps its ETag at most (time alone changes a page).
LIVE_SECONDS = 60
#: The partner's revision adds its customers' revisions modulo this prime: at most a
#: few tens of bits per customer, no overflow on either database however many there are.
_MODULUS = 2_147_483_647
#: The cookie in which the page's script leaves the browser's IANA time zone.
ZONE_COOKIE = "bj_tz"


async def _revision(db: Database, partner_id: UUID, customer_id: UUID | None) -> str | None:
    chosen = [customers.c.partner_id == partner_id]
    if customer_id is not None:
        chosen.append(customers.c.id == customer_id)
    statement = select(
        func.count(), func.coalesce(func.sum(customers.c.services_revision % _MODULUS), 0)
    ).where(*chosen)
    async with db.read() as connection:
        count, total = (await connection.execute(statement)).one()
    if customer_id is not None and not count:
        return None
    return f"{count}.{total}"


async def live_etag(
    request: Request[Any, Any, Any],
    user: User,
    db: Database,
    *,
    customer_id: UUID | None = None,
) -> str | None:
    """The ETag of the page ``request`` asks for, from the revision of the partner's data
    (``customer_id``: that customer's alone; None if the partner has no such customer:
    its 404 page is read and answered as any other)."""
    revision = await _revision(db, user.partner_id, customer_id)
    if revision is None:
        return None
    parts = (
        __version__,
        request.url.path,
        request.url.query,
        str(user.id),
        user.role.value,
        csrf_cookie(request),
        request.cookies.get(ZONE_COOKIE, ""),
        revision,
        str(int(time.time() // LIVE_SECONDS)),
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(request: Request[Any, Any, Any], etag: str) -> bool:
    """Whether the request is conditional on ``etag`` (the live updates' polls)."""
    asked = request.headers.get("if-none-match")
    return asked is not None and etag in (tag.strip() for tag in asked.split(","))


def not_modified(etag: str) -> Response[Any]:
    """The bodiless 304 of a page that has not changed."""
    return Response(content=b"", status_code=304, headers={"ETag": etag, "Vary": "Cookie"})
