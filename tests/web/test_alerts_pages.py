"""The Alerts pages: admins manage the partner's webhooks, see each one's deliveries."""

from __future__ import annotations

import re
import uuid

import anyio
import httpx

from backupjobs.auth.users import Role
from backupjobs.store.database import Database
from tests.receiver import receiving
from tests.web.accounts import csrf_of, make_account, signed_in
from tests.world import make_tenant


async def admin_client(client: httpx.AsyncClient, db: Database, partner_id=None):
    if partner_id is None:
        partner_id = (await make_tenant(db, customers=1)).partner_id
    await signed_in(client, await make_account(db, partner_id, Role.ADMIN))
    return partner_id


async def create(client: httpx.AsyncClient, **fields) -> httpx.Response:
    form_page = await client.get("/dashboard/alerts")
    data = {"csrf": csrf_of(form_page.text), "format": "standard", **fields}
    return await client.post("/dashboard/alerts", data=data)


async def test_a_viewer_neither_sees_nor_opens_the_alerts_pages(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    overview = await browser_like.get("/dashboard/account")
    assert 'href="/dashboard/alerts"' not in overview.text
    answer = await browser_like.get("/dashboard/alerts")
    assert answer.status_code == 403
    assert "Only the partner's dashboard admins manage alerts." in answer.text.replace("&#39;", "'")


async def test_an_admin_creates_tests_and_disables_a_webhook(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    await admin_client(browser_like, dashboard_db)
    page = await browser_like.get("/dashboard/alerts")
    assert 'href="/dashboard/alerts"' in page.text
    with receiving() as receiver:
        made = await create(
            browser_like,
            url=f"{receiver.url}/hook",
            events=["job.failed", "service.stale"],
            description="PSA tickets",
        )
        assert made.status_code == 200
        secret = re.search(r"(whsec_[A-Za-z0-9+/=]+)", made.text).group(1)
        assert "PSA tickets" in made.text
        # Shown once: the list does not show it again.
        assert secret not in (await browser_like.get("/dashboard/alerts")).text
        link = re.search(r'href="(/dashboard/alerts/[0-9a-f-]{36})"', made.text).group(1)
        detail = await browser_like.get(link)
        assert "job.failed, service.stale" in detail.text

        tested = await browser_like.post(f"{link}/test", data={"csrf": csrf_of(detail.text)})
        assert tested.status_code == 303
        received = await anyio.to_thread.run_sync(receiver.wait_for, 1)
        assert b'"type":"ping"' in received[0].body
        assert received[0].headers["webhook-signature"].startswith("v1,")
        for _ in range(100):
            log = await browser_like.get(link)
            if "delivered</td>" in log.text or "delivered<br>" in log.text:
                break
            await anyio.sleep(0.1)
        assert "ping" in log.text
        assert re.search(r"<td>delivered(<br>|</td>)", log.text), log.text

    disabled = await browser_like.post(
        f"{link}/enabled", data={"csrf": csrf_of(log.text), "enabled": "false"}
    )
    assert disabled.status_code == 303
    assert "<dd>disabled" in (await browser_like.get(link)).text


async def test_bad_webhooks_are_refused_naming_what_is_wrong(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    await admin_client(browser_like, dashboard_db)
    for fields, said in (
        ({"url": "http://127.0.0.1:9/hook"}, "events must name at least one"),
        ({"url": "not a url", "events": ["job.failed"]}, "url"),
        ({"url": "http://127.0.0.1:9/hook", "events": ["job.exploded"]}, "Unknown event type"),
        (
            {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"], "stale_after": "soon"},
            "Stale after",
        ),
    ):
        answer = await create(browser_like, **fields)
        assert answer.status_code == 400, fields
        assert said in answer.text, (fields, answer.text[-2000:])
        assert "whsec_" not in answer.text


async def test_another_partners_webhook_is_the_404_of_a_nonexistent_one(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    other = httpx.AsyncClient(transport=browser_like._transport, base_url=browser_like.base_url)
    await admin_client(other, dashboard_db)
    with receiving() as receiver:
        made = await create(other, url=f"{receiver.url}/hook", events=["job.failed"])
    theirs = re.search(r'href="(/dashboard/alerts/[0-9a-f-]{36})"', made.text).group(1)

    await admin_client(browser_like, dashboard_db)
    answers = [
        await browser_like.get(path)
        for path in (theirs, f"/dashboard/alerts/{uuid.uuid4()}", "/dashboard/alerts/nope")
    ]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.text for answer in answers}) == 1
    page = await browser_like.get("/dashboard/alerts")
    refused = await browser_like.post(f"{theirs}/test", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 404
    assert theirs not in page.text
