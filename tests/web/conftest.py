"""The application with the dashboard, in-process, on each database of the session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from backupjobs.api import build_application
from backupjobs.settings import Settings
from backupjobs.web import DashboardPlugin
from tests.conftest import PUBLIC_URL
from tests.web.browser import axe_source, chromium, screenshots, served  # noqa: F401 - fixtures

#: Sign-in quotas of the tests' application (one client address for every test).
SIGN_IN_PER_ACCOUNT = 5
SIGN_IN_PER_ADDRESS = 10**6


@pytest.fixture(scope="session")
async def dashboard_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The API with the dashboard (as ``backupjobs serve`` runs it), lifespan started."""
    application = build_application(
        settings.with_changes(
            rate_limit_signin_account=SIGN_IN_PER_ACCOUNT,
            rate_limit_signin_address=SIGN_IN_PER_ADDRESS,
            # The alerts pages' tests deliver to a receiver on this machine.
            webhook_allow_private=True,
        ),
        plugins=[DashboardPlugin()],
    )
    async with application.lifespan():
        yield application


@pytest.fixture
async def browser_like(dashboard_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookies, as one browser; redirects are not followed."""
    transport = httpx.ASGITransport(app=dashboard_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


@pytest.fixture
def dashboard_db(dashboard_app: Litestar):
    return dashboard_app.state["context"].db
