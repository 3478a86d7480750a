"""While the database cannot be reached the API answers 503 with Retry-After, and recovers;
any other failure of a handler, an ``OSError`` too, is the plain 500 problem."""

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import get
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import text

from backupjobs.api import build_application
from backupjobs.api.outage import STATE_KEY as OUTAGE_KEY
from backupjobs.readmodel.changes import MAX_LAG
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from tests.conftest import PUBLIC_URL
from tests.relay import Relay
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import make_tenant, v3_jobs_path


@pytest.fixture
def lonely_database():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


async def test_database_outage_is_503_with_retry_after_then_recovers(lonely_database):
    parts = urlsplit(lonely_database)
    relay = await Relay((parts.hostname, parts.port or 5432)).start()
    through_relay = parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl()
    app = build_application(Settings(database_url=through_relay, public_url=PUBLIC_URL))
    async with app.lifespan():
        db = app.state.context.db
        tenant = await make_tenant(db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            headers = await tenant.headers(client)
            path = v3_jobs_path(tenant.customers[0])
            assert (await client.post(path, headers=headers)).status_code == 200
            await relay.cut()
            try:
                # A page kept from before may be answered for MAX_LAG at most (readmodel.changes).
                deadline = time.monotonic() + MAX_LAG + 1
                while (down := await client.post(path, headers=headers)).status_code == 200:
                    assert time.monotonic() < deadline, "pages answered from memory too long"
                    await asyncio.sleep(0.01)
                assert down.status_code == 503
                assert down.headers["retry-after"] == "5"
                assert down.headers["content-type"] == "application/problem+json"
                assert "unavailable" in down.json()["detail"]
                assert (await client.get("/readyz")).status_code == 503
            finally:
                await relay.restore()
            assert (await client.post(path, headers=headers)).status_code == 200


class FailingRoutes(InitPluginProtocol):
    """Routes failing as a handler may: a file it cannot open, and a database (of the
    test's kind) that cannot be reached, whose driver raises an ``OSError`` too."""

    def __init__(self, unreachable_url: str) -> None:
        self.unreachable_url = unreachable_url

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        unreachable_url = self.unreachable_url

        @get("/faults/file", sync_to_thread=False)
        def missing_file() -> str:
            return Path("/nonexistent/backupjobs/report.csv").read_text()

        @get("/faults/database")
        async def unreachable_database() -> str:
            db = Database(unreachable_url, timeout=5)
            try:
                async with db.read() as connection:
                    await connection.execute(text("SELECT 1"))
            finally:
                await db.dispose()
            return "reached"

        app_config.route_handlers.extend([missing_file, unreachable_database])
        return app_config


@pytest.fixture
def unreachable_url(settings: Settings, tmp_path: Path) -> str:
    """A database of the suite's kind whose driver raises an OSError subclass: a SQLite
    file that is a directory, a PostgreSQL Unix socket that is gone."""
    if settings.database_url.startswith("sqlite"):
        (tmp_path / "a-directory.db").mkdir()
        return f"sqlite:///{tmp_path / 'a-directory.db'}"
    return f"postgresql://root@/test?host={tmp_path / 'no-server'}"


@pytest.fixture
async def failing_app(settings: Settings, unreachable_url: str):
    app = build_application(settings, plugins=[FailingRoutes(unreachable_url)])
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield app, client


async def test_a_file_a_handler_cannot_open_is_a_500_not_an_outage(failing_app):
    app, client = failing_app
    answer = await client.get("/faults/file")
    assert answer.status_code == 500
    assert "retry-after" not in answer.headers
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "The server failed to handle this request."
    assert "nonexistent" not in answer.text
    assert not app.state[OUTAGE_KEY].unavailable


async def test_a_database_the_driver_cannot_reach_is_an_outage(failing_app):
    app, client = failing_app
    answer = await client.get("/faults/database")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "unavailable" in answer.json()["detail"]
    assert app.state[OUTAGE_KEY].unavailable
