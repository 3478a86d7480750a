"""Shared fixtures: the API in-process on SQLite and on PostgreSQL, and test tenants."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from backupjobs.api import build_application
from backupjobs.api.context import AppContext
from backupjobs.readmodel import ReadModel
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from tests.services import create_postgres_database, drop_postgres_database

PUBLIC_URL = "http://testserver.local"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every ``async def`` test under anyio, before its parameters are generated."""
    if inspect.iscoroutinefunction(obj) and name.startswith("test"):
        pytest.mark.anyio(obj)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgresql_only`` exist for PostgreSQL alone: their SQLite variants
    are not generated (deselected), rather than reported as skipped."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        # Any database fixture's variant: database_url's, alerts_database_url's.
        on_sqlite = callspec is not None and any(
            name.endswith("database_url") and value == "sqlite"
            for name, value in callspec.params.items()
        )
        (drop if on_sqlite and item.get_closest_marker("postgresql_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


#: What asyncpg's TLS negotiation future holds when the connection went away while a
#: cancelled connect (a timeout, a shutdown) no longer waited for it.
ORPHANED_CONNECT = "unexpected connection_lost() call"


class TestsLoop(asyncio.SelectorEventLoop):
    """The tests' event loop. anyio's test runner reports each exception an unawaited
    future held to the test that is running when the future is collected, often an
    unrelated one. A connect that timed out or was cancelled during an outage leaves
    asyncpg's negotiation future to fail later with :data:`ORPHANED_CONNECT` (seen once
    in CI, in a sync test after the database-outage tests): nobody awaits it, so it is
    left out. Any other exception is reported as before."""

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        failure = context.get("exception")
        if isinstance(failure, ConnectionError) and str(failure) == ORPHANED_CONNECT:
            return
        super().call_exception_handler(context)


@pytest.fixture(scope="session")
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "asyncio", {"loop_factory": TestsLoop}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of each kind for the session."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'backupjobs.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Every in-process request comes from one address: quotas the whole suite cannot use up
    # (tests/api/test_ratelimit*.py check the limits on apps with small quotas).
    return Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        rate_limit_app=10**9,
        rate_limit_token_client=10**9,
        rate_limit_token_address=10**9,
        # The sync tests run upstreams themselves, each at its moment.
        sync_in_serve=False,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The API with its lifespan run (migrations, first signing key), in the tests' loop."""
    application = build_application(settings)
    async with application.lifespan():
        yield application


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the API in-process, in the tests' event loop."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture(scope="session")
def context(app: Litestar) -> AppContext:
    found: AppContext = app.state.context
    return found


@pytest.fixture(scope="session")
def db(context: AppContext) -> Database:
    return context.db


@pytest.fixture(scope="session")
def read_model(context: AppContext) -> ReadModel:
    return context.read_model


@pytest.fixture(scope="session")
def ingestor(context: AppContext) -> Ingestor:
    return context.ingestor


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'backupjobs.db'}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def alerts_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of each kind for one module's alerts application."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('alerts') / 'backupjobs.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
async def alerts_app(alerts_database_url: str) -> AsyncIterator[Litestar]:
    """The API with webhooks allowed to this host's receivers and retries a second apart
    (its own database: its deliverer is the only one sending there)."""
    settings = Settings(
        database_url=alerts_database_url,
        public_url=PUBLIC_URL,
        rate_limit_app=10**9,
        rate_limit_token_client=10**9,
        rate_limit_token_address=10**9,
        webhook_allow_private=True,
        sync_in_serve=False,
    )
    application = build_application(settings)
    application.state.context.alerts.deliverer_options.update(
        retry_delays=(timedelta(seconds=0.5), timedelta(seconds=0.5)), poll=0.2
    )
    async with application.lifespan():
        yield application


@pytest.fixture(scope="module")
async def alerts_client(alerts_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=alerts_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


@pytest.fixture(scope="module")
def alerts_db(alerts_app: Litestar) -> Database:
    found: Database = alerts_app.state.context.db
    return found
