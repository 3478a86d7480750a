"""The application with the dashboard, in-process, on each database of the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from backupjobs.api import build_application
from backupjobs.settings import Settings
from backupjobs.web import DashboardPlugin
from tests.conftest import PUBLIC_URL
from tests.services import create_postgres_database, drop_postgres_database
from tests.web.browser import axe_source, chromium, screenshots, served  # noqa: F401 - fixtures

#: Sign-in quotas of the tests' application (one client address for every test).
SIGN_IN_PER_ACCOUNT = 5
SIGN_IN_PER_ADDRESS = 10**6


@pytest.fixture(scope="session")
def dashboard_settings(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The dashboard's settings, on a database of its own (of the session's kind): its
    deliverer is then the only one sending that database's webhooks, so a test ping cannot
    be claimed by the session application, which refuses this machine's receivers."""
    on_sqlite = settings.database_url.startswith("sqlite")
    if on_sqlite:
        own_url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'backupjobs.db'}"
    else:
        own_url = create_postgres_database()
    yield settings.with_changes(
        database_url=own_url,
        rate_limit_signin_account=SIGN_IN_PER_ACCOUNT,
        rate_limit_signin_address=SIGN_IN_PER_ADDRESS,
        # The alerts pages' tests deliver to a receiver on this machine.
        webhook_allow_private=True,
    )
    if not on_sqlite:
        drop_postgres_database(own_url)


@pytest.fixture(scope="session")
async def dashboard_app(dashboard_settings: Settings) -> AsyncIterator[Litestar]:
    """The API with the dashboard (as ``backupjobs serve`` runs it), lifespan started."""
    application = build_application(dashboard_settings, plugins=[DashboardPlugin()])
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
