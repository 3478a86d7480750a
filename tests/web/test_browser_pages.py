"""The dashboard's pages in real headless Chromium against ``backupjobs serve``: the overview
worst first, search as you type, a customer's chart drawn, history filtered and paged, the
CSV download, a new failing job without a reload, another partner's customer a 404; axe-core
on each page; screenshots at desktop and phone width."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import httpx
import pytest

from tests.api.reports import run
from tests.processes import cli_json
from tests.web.accounts import PASSWORD
from tests.web.browser import DESKTOP, PHONE, Served, serious_violations


@dataclass
class Shop:
    """The served partner's customers and app, and another partner's customer."""

    served: Served
    client_id: str
    secret: str
    failing: str
    healthy: str
    northwind: str
    foreign: str
    email: str

    def ingest(self, records: list[dict]) -> None:
        token = httpx.post(
            f"{self.served.url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
            },
        ).json()["access_token"]
        answer = httpx.post(
            f"{self.served.url}/api/v1/ingest/jobs",
            json=records,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text


def _customer(served: Served, partner: str, name: str) -> str:
    return cli_json(served.env, "customers", "create", "--partner", partner, "--name", name)["id"]


@pytest.fixture(scope="module")
def shop(served: Served) -> Shop:
    app = cli_json(
        served.env, "apps", "create", "--partner", served.partner_id, "--name", "Engine",
        "--permission", "elements.jobs.write.all",
    )  # fmt: skip
    made = Shop(
        served,
        app["clientId"],
        app["clientSecret"],
        failing=_customer(served, served.partner_id, "Fabrikam Failing"),
        healthy=_customer(served, served.partner_id, "Contoso Healthy"),
        northwind=_customer(served, served.partner_id, "Northwind Traders"),
        foreign=_customer(
            served,
            cli_json(served.env, "partners", "create", "--name", "Another MSP")["id"],
            "Someone Else's",
        ),
        email="",
    )
    made.ingest(
        [
            run(made.failing, "F-1", 30, status=2),
            run(made.failing, "F-0", 3, status=3),
            run(made.healthy, "H-0", 4, status=2),
            *(
                run(made.northwind, f"N-{n:02d}", 2 + 12 * n, status=3 if n % 5 == 0 else 2,
                    module=302 if n % 2 else 304, backupSizeBytes=10**9 + n * 10**7)
                for n in range(40)
            ),
        ]
    )  # fmt: skip
    user = served.new_user("admin")
    made.email = user["email"]
    # The first sign-in changes the one-time password; the tests then use PASSWORD.
    with httpx.Client(base_url=served.url) as browser:
        form = browser.get("/dashboard/sign-in").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        browser.post(
            "/dashboard/sign-in",
            data={"csrf": csrf, "email": user["email"], "password": user["password"]},
        )
        form = browser.get("/dashboard/account/password").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        changed = browser.post(
            "/dashboard/account/password",
            data={
                "csrf": csrf,
                "current_password": user["password"],
                "new_password": PASSWORD,
                "confirm_password": PASSWORD,
            },
        )
        assert changed.status_code == 303
    return made


def signed_in_page(chromium, shop: Shop, viewport=DESKTOP, **options):
    context = chromium.new_context(viewport=viewport, timezone_id="Europe/Berlin", **options)
    page = context.new_page()
    page.goto(f"{shop.served.url}/dashboard")
    page.get_by_label("Email address").fill(shop.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
    return context, page


def customer_rows(page) -> list[str]:
    return page.locator("#live tbody th[scope=row]").all_inner_texts()


def test_overview_search_customer_chart_history_and_csv(
    chromium, shop, axe_source, screenshots, tmp_path
):
    context, page = signed_in_page(chromium, shop)
    # The failing customer first.
    assert customer_rows(page)[0] == "Fabrikam Failing"
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "overview-desktop.png", full_page=True)

    # Search as you type: the table narrows without a page load.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search customers").press_sequentially("north", delay=30)
    page.wait_for_function(
        "() => document.querySelectorAll('#live tbody th[scope=row]').length === 1"
    )
    assert customer_rows(page) == ["Northwind Traders"]
    assert page.evaluate("window.notReloaded") is True

    # Open the customer: its chart is drawn (a canvas with painted pixels).
    page.get_by_role("link", name="Northwind Traders").click()
    page.wait_for_selector("figure[data-chart=outcomes] canvas")
    painted = page.evaluate(
        """() => {
          const canvas = document.querySelector('figure[data-chart=outcomes] canvas');
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
          return painted;
        }"""
    )
    assert painted > 500
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "customer-desktop.png", full_page=True)

    # Filter the history: failed jobs only (8 of 40), then page it (25 a page).
    jobs = page.locator("#jobs tbody tr")
    assert jobs.count() == 25
    page.get_by_role("link", name="Next page").click()
    page.wait_for_load_state()
    assert jobs.count() == 15
    page.get_by_label("Status").select_option(label="Failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert jobs.count() == 8
    assert set(page.locator("#jobs tbody tr td:nth-child(3)").all_inner_texts()) == {"Failed"}

    # The CSV holds exactly the filtered rows.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these jobs (CSV)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(newline="")))
    assert len(rows) == 8
    assert {row["statusName"] for row in rows} == {"Failed"}
    assert {row["customerName"] for row in rows} == {"Northwind Traders"}

    page.goto(f"{shop.served.url}/dashboard/attention")
    assert "Fabrikam Failing" in customer_rows(page)
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "attention-desktop.png", full_page=True)
    context.close()


def test_a_new_failing_job_appears_without_a_reload(chromium, shop):
    context, page = signed_in_page(chromium, shop)
    page.evaluate("window.notReloaded = true")
    healthy_row = page.locator("#live tbody tr", has_text="Contoso Healthy")
    assert "Failed" not in healthy_row.inner_text()

    shop.ingest([run(shop.healthy, "H-new", 0.5, status=3)])
    page.wait_for_function(
        """() => [...document.querySelectorAll('#live tbody tr')].some(
             row => row.innerText.includes('Contoso Healthy') && row.innerText.includes('Failed'))""",
        timeout=20_000,
    )
    assert page.evaluate("window.notReloaded") is True
    context.close()


def test_another_partners_customer_is_the_404_page_of_a_nonexistent_one(chromium, shop):
    context, page = signed_in_page(chromium, shop)
    answers = []
    for customer in (shop.foreign, "00000000-0000-4000-8000-000000000000"):
        answer = page.goto(f"{shop.served.url}/dashboard/customers/{customer}")
        answers.append((answer.status, page.locator("main").inner_text()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    context.close()


def test_the_pages_at_phone_width(chromium, shop, axe_source, screenshots):
    context, page = signed_in_page(
        chromium, shop, viewport=PHONE, is_mobile=True, device_scale_factor=2
    )
    for name, path in (
        ("overview", "/dashboard"),
        ("customer", f"/dashboard/customers/{shop.northwind}"),
        ("attention", "/dashboard/attention"),
    ):
        page.goto(f"{shop.served.url}{path}")
        page.wait_for_load_state("networkidle")
        # Nothing but the tables' own scrolling area is wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        assert serious_violations(page, axe_source) == [], name
        page.screenshot(path=screenshots / f"{name}-phone.png", full_page=True)
    context.close()
