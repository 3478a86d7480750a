"""The live pages' ETags come from the data's revision: a poll that finds nothing changed
is a 304 that reads no page (no summary, no services, no history), and a new job changes
the ETag."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from backupjobs.store.database import Database
from tests.api.reports import run
from tests.web.accounts import make_account, signed_in
from tests.world import ingest, make_tenant

#: Tables that only reading a page itself touches (the revision reads ``customers``).
PAGE_TABLES = ("job_outcomes", "backup_services", "jobs")


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run through ``db``'s engine while the block runs."""
    seen: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", executed)


def reads_a_page(seen: list[str]) -> bool:
    return any(re.search(rf"\b{table}\b", statement) for statement in seen for table in PAGE_TABLES)


async def unchanged_poll(
    client: httpx.AsyncClient, db: Database, path: str
) -> tuple[httpx.Response, list[str], str]:
    """A page, then a poll conditional on its ETag: the poll's answer and statements.
    (Asked again if the minute, part of the ETag, turned between the two.)"""
    for _ in range(3):
        with statements(db) as first_seen:
            first = await client.get(path)
        assert first.status_code == 200
        assert reads_a_page(first_seen), first_seen  # the spy sees a page being read
        etag = first.headers["etag"]
        # The page carries its ETag for its script's first poll.
        carried = re.search(r'data-etag="([^"]*)"', first.text)
        assert carried is not None
        assert html.unescape(carried.group(1)) == etag
        with statements(db) as seen:
            poll = await client.get(path, headers={"If-None-Match": etag})
        if poll.status_code == 304:
            return poll, seen, etag
    raise AssertionError(f"{path}: no 304 for an unchanged page")


async def test_an_unchanged_page_is_a_304_without_reading_the_page_and_a_new_job_changes_it(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=2, names=["Uno", "Dos"])
    uno, dos = tenant.customers
    await ingest(browser_like, tenant, [run(uno, "L-1", 5), run(dos, "L-2", 5)])
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    pages = ("/dashboard", "/dashboard/attention", f"/dashboard/customers/{uno}")

    etags = {}
    for path in pages:
        poll, seen, etag = await unchanged_poll(browser_like, dashboard_db, path)
        assert poll.content == b""
        assert poll.headers["etag"] == etag
        assert not reads_a_page(seen), (path, seen)
        etags[path] = etag

    # A failed job for Uno: every page showing Uno changes.
    await ingest(browser_like, tenant, [run(uno, "L-3", 1, status=3)])
    for path in pages:
        changed = await browser_like.get(path, headers={"If-None-Match": etags[path]})
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != etags[path]
        assert "Failed" in changed.text

    # A job of Dos leaves Uno's page as it was.
    _, _, uno_etag = await unchanged_poll(browser_like, dashboard_db, pages[2])
    await ingest(browser_like, tenant, [run(dos, "L-4", 1, status=3)])
    unchanged = await browser_like.get(pages[2], headers={"If-None-Match": uno_etag})
    assert unchanged.status_code in {304, 200}  # 200 only if the minute turned meanwhile
    overview = await browser_like.get(pages[0], headers={"If-None-Match": etags[pages[0]]})
    assert overview.status_code == 200


async def test_the_etag_is_the_users_own(
    browser_like: httpx.AsyncClient, dashboard_db: Database, dashboard_app: Any
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1, names=["Solo"])
    await ingest(browser_like, tenant, [run(tenant.customers[0], "M-1", 5)])
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    mine = (await browser_like.get("/dashboard")).headers["etag"]
    transport = httpx.ASGITransport(app=dashboard_app)
    async with httpx.AsyncClient(transport=transport, base_url=browser_like.base_url) as other:
        await signed_in(other, await make_account(dashboard_db, tenant.partner_id))
        theirs = await other.get("/dashboard", headers={"If-None-Match": mine})
    # Another user's page (its CSRF token, its navigation) is never a 304 on this ETag.
    assert theirs.status_code == 200
    assert theirs.headers["etag"] != mine
