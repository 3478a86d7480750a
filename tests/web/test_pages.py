"""The dashboard's pages over HTTP in-process: what they show, paging, filters, the CSV,
live-update ETags, bad input and tenant isolation."""

from __future__ import annotations

import csv
import io
import re

import httpx

from backupjobs.store.database import Database
from tests.api.reports import make_world, run
from tests.web.accounts import make_account, signed_in
from tests.world import ingest, make_tenant


def names_in_order(html: str) -> list[str]:
    """The customers' names of the overview's table, top to bottom."""
    return re.findall(r'<th scope="row"><a href="/dashboard/customers/[^"]+">([^<]+)</a>', html)


async def world_and_user(client: httpx.AsyncClient, db: Database):
    world = await make_world(client, db)
    await signed_in(client, await make_account(db, world.a.partner_id))
    return world


async def test_the_overview_shows_totals_and_every_customer_worst_first(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    await world_and_user(browser_like, dashboard_db)
    page = await browser_like.get("/dashboard")
    assert page.status_code == 200
    # Bravo is quiet and warned (multiple issues), Alpha fails, Charlie recovered.
    assert names_in_order(page.text) == ["Bravo", "Alpha", "Charlie"]
    assert "Multiple issues found" in page.text
    assert "Other partner" not in page.text
    assert re.search(r'<span class="value">3</span> customers', page.text)
    assert "failing services" in page.text
    # 14 days in each customer's strip, a failing day among Alpha's.
    strips = re.findall(r'<span class="strip"[^>]*>(.*?)</span></td>', page.text)
    assert len(strips) == 3
    assert all(strip.count("<span class=") == 14 for strip in strips)
    assert "d-fail" in strips[1]


async def test_the_overview_searches_and_pages_with_cursors_bound_to_the_search(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(
        dashboard_db, customers=60, names=[f"Customer {n:02d}" for n in range(60)]
    )
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    first = await browser_like.get("/dashboard")
    assert len(names_in_order(first.text)) == 50
    next_link = (
        re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1).replace("&amp;", "&")
    )
    second = await browser_like.get(next_link)
    assert len(names_in_order(second.text)) == 10
    assert not set(names_in_order(first.text)) & set(names_in_order(second.text))
    assert 'rel="next"' not in second.text

    found = await browser_like.get("/dashboard", params={"q": "customer 4"})
    assert names_in_order(found.text) == [f"Customer {n}" for n in range(40, 50)]
    # A cursor made for one search is no cursor for another.
    cursor = re.search(r"cursor=([^\"&]+)", next_link).group(1)
    refused = await browser_like.get("/dashboard", params={"q": "x", "cursor": cursor})
    assert refused.status_code == 400
    assert "not valid with these filters" in refused.text
    nothing = await browser_like.get("/dashboard", params={"q": "no such name"})
    assert "No customer's name contains “no such name”" in nothing.text


async def test_a_customer_page_shows_its_services_charts_and_filtered_history(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    world = await world_and_user(browser_like, dashboard_db)
    alpha = world.a.customers[0]
    page = await browser_like.get(f"/dashboard/customers/{alpha}")
    assert page.status_code == 200
    assert "<h1>Alpha</h1>" in page.text
    assert "failing" in page.text
    assert 'data-chart="outcomes"' in page.text
    assert page.text.count("<tr>") >= 2 + 10

    failed = await browser_like.get(f"/dashboard/customers/{alpha}", params={"status": "3"})
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", failed.text.split('id="jobs"')[1], flags=re.S)
    assert len(rows) == 3
    assert all("Failed" in row for row in rows)


async def test_history_pages_by_cursor(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1)
    customer = tenant.customers[0]
    await ingest(browser_like, tenant, [run(customer, f"J-{n:02d}", n + 1) for n in range(30)])
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    first = await browser_like.get(f"/dashboard/customers/{customer}")
    jobs_table = first.text.split('id="jobs"')[1]
    assert jobs_table.count("<tr>\n    <td>") == 25
    next_link = (
        re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1).replace("&amp;", "&")
    )
    second = await browser_like.get(next_link)
    assert second.text.split('id="jobs"')[1].count("<tr>\n    <td>") == 5
    assert "First page" in second.text


async def test_the_csv_holds_the_filtered_history(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    world = await world_and_user(browser_like, dashboard_db)
    alpha = world.a.customers[0]
    answer = await browser_like.get(
        f"/dashboard/customers/{alpha}/jobs.csv", params={"status": ["3", "7"]}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(row["jobId"] for row in rows) == ["A-gr-0", "A-gr-1", "A-gr-2", "A-gr-3"]
    # Formula-looking names are neutralised, as in the export API.
    assert {row["name"] for row in rows if row["status"] == "3"} == {"'=HYPERLINK(1)"}


async def test_the_attention_page_lists_failing_and_stale_services(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    await world_and_user(browser_like, dashboard_db)
    page = await browser_like.get("/dashboard/attention")
    assert page.status_code == 200
    listed = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', page.text)
    assert listed[0] == "Alpha"
    assert "Bravo" in listed  # stale: no success for 72 hours
    assert "Other partner" not in page.text


async def test_another_partners_customer_is_the_same_404_page_as_none(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    world = await world_and_user(browser_like, dashboard_db)
    foreign = world.b.customers[0]
    answers = [
        await browser_like.get(path)
        for path in (
            f"/dashboard/customers/{foreign}",
            "/dashboard/customers/00000000-0000-4000-8000-000000000000",
            "/dashboard/customers/not-an-id",
            f"/dashboard/customers/{foreign}/jobs.csv",
        )
    ]
    assert {answer.status_code for answer in answers} == {404}
    bodies = {answer.text for answer in answers}
    assert len(bodies) == 1
    assert "There is no customer with this id." in bodies.pop()


async def test_bad_filters_are_a_400_page_naming_the_filter_and_value(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    world = await world_and_user(browser_like, dashboard_db)
    alpha = world.a.customers[0]
    for params, said in (
        ({"status": "bogus"}, "status"),
        ({"jobType": "Nope"}, "jobType"),
        ({"from": "yesterday"}, "from"),
        ({"cursor": "tampered"}, "not valid with these filters"),
    ):
        answer = await browser_like.get(f"/dashboard/customers/{alpha}", params=params)
        assert answer.status_code == 400, params
        assert said in answer.text
        assert "Traceback" not in answer.text
        assert "SELECT" not in answer.text


async def test_live_updates_poll_with_etags(
    browser_like: httpx.AsyncClient, dashboard_db: Database
) -> None:
    tenant = await make_tenant(dashboard_db, customers=1, names=["Solo"])
    customer = tenant.customers[0]
    await ingest(browser_like, tenant, [run(customer, "S-1", 5)])
    await signed_in(browser_like, await make_account(dashboard_db, tenant.partner_id))
    page = await browser_like.get("/dashboard")
    etag = page.headers["etag"]
    unchanged = await browser_like.get("/dashboard", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    await ingest(browser_like, tenant, [run(customer, "S-2", 1, status=3)])
    changed = await browser_like.get("/dashboard", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "Failed" in changed.text


async def test_pages_ask_for_sign_in(browser_like: httpx.AsyncClient) -> None:
    for path in ("/dashboard", "/dashboard/attention", "/dashboard/customers/x/jobs.csv"):
        answer = await browser_like.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/dashboard/sign-in")
