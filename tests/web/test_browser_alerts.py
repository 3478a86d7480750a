"""The Alerts pages in headless Chromium: an admin creates a webhook, sends a test event and
sees it delivered; axe-core on each page; screenshots at desktop and phone width."""

from __future__ import annotations

import re

from tests.receiver import receiving
from tests.web.browser import DESKTOP, PHONE, serious_violations


def sign_in_first_time(page, url, user):
    page.goto(f"{url}/dashboard")
    page.get_by_label("Email address").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard/account/password$"))
    page.get_by_label("Current password").fill(user["password"])
    page.get_by_label("New password", exact=True).fill("an admin's passphrase")
    page.get_by_label("New password again").fill("an admin's passphrase")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_load_state()


def test_an_admin_creates_a_webhook_and_sees_its_test_delivered(
    chromium, served, axe_source, screenshots
):
    user = served.new_user("admin")
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in_first_time(page, served.url, user)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r".*/dashboard/alerts$"))
    assert serious_violations(page, axe_source) == []

    with receiving() as receiver:
        page.get_by_label("Destination URL").fill(f"{receiver.url}/hook")
        page.get_by_label("Description").fill("PSA tickets")
        page.get_by_role("button", name="Create webhook").click()
        page.wait_for_load_state()
        assert page.locator("code.secret").inner_text().startswith("whsec_")
        page.screenshot(path=screenshots / "alerts-desktop.png", full_page=True)

        page.get_by_role("link", name="PSA tickets").click()
        page.get_by_role("button", name="Send a test event").click()
        page.wait_for_load_state()
        receiver.wait_for(1)
        # The log shows the delivery (live, or after the redirect).
        page.wait_for_function(
            "() => /delivered/.test(document.querySelector('#deliveries').innerText)",
            timeout=20_000,
        )
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "webhook-desktop.png", full_page=True)
    context.close()

    phone = chromium.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    small = phone.new_page()
    small.goto(f"{served.url}/dashboard/sign-in")
    small.get_by_label("Email address").fill(user["email"])
    small.get_by_label("Password").fill("an admin's passphrase")
    small.get_by_role("button", name="Sign in").click()
    small.wait_for_load_state()
    small.goto(f"{served.url}/dashboard/alerts")
    assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert serious_violations(small, axe_source) == []
    small.screenshot(path=screenshots / "alerts-phone.png", full_page=True)
    phone.close()


def test_a_viewer_is_refused_the_alerts_page(chromium, served):
    user = served.new_user("viewer")
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in_first_time(page, served.url, user)
    assert page.get_by_role("link", name="Alerts").count() == 0
    answer = page.goto(f"{served.url}/dashboard/alerts")
    assert answer.status == 403
    context.close()
