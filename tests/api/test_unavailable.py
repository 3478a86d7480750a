"""While the database cannot be reached the API answers 503 with Retry-After, and recovers."""

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest

from backupjobs.api import build_application
from backupjobs.readmodel.changes import MAX_LAG
from backupjobs.settings import Settings
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
