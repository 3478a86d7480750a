"""Signing in, out and changing the password in real headless Chromium; axe-core on each
page; screenshots at desktop and phone width."""

from __future__ import annotations

import re

from tests.web.accounts import PASSWORD
from tests.web.browser import DESKTOP, PHONE, serious_violations


def sign_in(page, url, email, password):
    page.goto(f"{url}/dashboard")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_first_sign_in_changes_the_password_then_signs_out(
    chromium, served, axe_source, screenshots
):
    user = served.new_user()
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{served.url}/dashboard")
    assert "/dashboard/sign-in" in page.url
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "sign-in-desktop.png")

    sign_in(page, served.url, user["email"], user["password"])
    page.wait_for_url(re.compile(r".*/dashboard/account/password$"))
    assert serious_violations(page, axe_source) == []
    page.get_by_label("Current password").fill(user["password"])
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_load_state()
    assert "/dashboard/account/password" not in page.url

    page.goto(f"{served.url}/dashboard/account")
    assert page.get_by_text(user["email"]).first.is_visible()
    assert serious_violations(page, axe_source) == []

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/dashboard/sign-in$"))
    page.goto(f"{served.url}/dashboard/account")
    assert "/dashboard/sign-in" in page.url
    context.close()


def test_a_form_stripped_of_its_csrf_token_is_refused(chromium, served):
    user = served.new_user()
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{served.url}/dashboard/sign-in")
    page.evaluate("document.querySelector('input[name=csrf]').remove()")
    page.get_by_label("Email address").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Forbidden").is_visible()
    assert "/dashboard/sign-in" in page.url
    context.close()


def test_sign_in_attempts_are_throttled(chromium, served):
    user = served.new_user()
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    for attempt in range(5):
        sign_in(page, served.url, user["email"], f"wrong guess {attempt}")
        assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    sign_in(page, served.url, user["email"], user["password"])
    assert page.get_by_role("heading", name="Too Many Requests").is_visible()
    context.close()


def test_the_sign_in_page_at_phone_width(chromium, served, axe_source, screenshots):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{served.url}/dashboard/sign-in")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    assert serious_violations(page, axe_source) == []
    page.screenshot(path=screenshots / "sign-in-phone.png")
    context.close()
