"""Job pages under load through database outages: every request answers within its
deadline (200, or 503 while the database is away), and pages answer 200 after each.

Two kinds of outage, several rounds each: the link cut and refused by a TCP relay
(connections reset), and the server itself stopped and started again (a fast shutdown
ends every session with 57P01, an immediate one kills them), on a PostgreSQL cluster of
the test's own.
"""

import asyncio
import contextlib
import random
import time
from urllib.parse import urlsplit

import httpx
import pytest

from backupjobs.api import build_application
from backupjobs.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.faults.postgres_cluster import postgres_cluster  # noqa: F401 - a fixture
from tests.relay import Relay
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import ingest, job, make_tenant, v3_jobs_path

pytestmark = pytest.mark.slow

DATABASE_TIMEOUT = 2.0
#: A request that takes longer than this has hung: nothing in it may wait longer.
REQUEST_DEADLINE = DATABASE_TIMEOUT * 3 + 2
WORKERS = 24
RECOVERY = 20.0


@pytest.fixture
def lonely_database():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


class PageLoad:
    """Concurrent page requests over a tenant's customers, v3 and Modern, until stopped."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], customers: list):
        self.client = client
        self.headers = headers
        self.customers = customers
        self.statuses: list[int] = []
        self.hung = 0
        self._running = True
        self._last_ok: dict[int, float] = {}

    async def _request(self) -> int:
        customer = random.choice(self.customers)
        if random.random() < 0.5:
            call = self.client.post(v3_jobs_path(customer), headers=self.headers)
        else:
            call = self.client.get(f"/partner/customers/{customer}/jobs", headers=self.headers)
        try:
            async with asyncio.timeout(REQUEST_DEADLINE):
                return (await call).status_code
        except TimeoutError:
            self.hung += 1
            return 0

    async def worker(self, number: int) -> None:
        while self._running:
            status = await self._request()
            self.statuses.append(status)
            if status == 200:
                self._last_ok[number] = time.monotonic()
            await asyncio.sleep(0.002)

    async def all_answer_since(self, moment: float, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self._last_ok.get(n, 0) > moment for n in range(WORKERS)):
                return True
            await asyncio.sleep(0.1)
        return False

    def stop(self) -> None:
        self._running = False


async def _run_rounds(url: str, outage, restore, rounds: int) -> None:
    settings = Settings(
        database_url=url,
        public_url=PUBLIC_URL,
        database_timeout=DATABASE_TIMEOUT,
        database_pool_size=4,
        rate_limit_app=0,
    )
    app = build_application(settings)
    async with app.lifespan():
        tenant = await make_tenant(app.state.context.db, customers=6)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            for number, customer in enumerate(tenant.customers):
                await ingest(client, tenant, [job(customer, f"J{number}")])
            load = PageLoad(client, await tenant.headers(client), tenant.customers)
            workers = [asyncio.create_task(load.worker(n)) for n in range(WORKERS)]
            try:
                for round_number in range(rounds):
                    await asyncio.sleep(0.5)
                    await outage(round_number)
                    await asyncio.sleep(2.5)
                    async with asyncio.timeout(REQUEST_DEADLINE):
                        assert (await client.get("/readyz")).status_code == 503
                    await restore()
                    back = time.monotonic()
                    answered = await load.all_answer_since(back, RECOVERY)
                    async with asyncio.timeout(REQUEST_DEADLINE):
                        assert (await client.get("/readyz")).status_code == 200
                    assert load.hung == 0, f"round {round_number}: {load.hung} requests hung"
                    assert answered, f"round {round_number}: pages did not answer again"
            finally:
                load.stop()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*workers)
            assert load.hung == 0
            assert set(load.statuses) <= {200, 503}, sorted(set(load.statuses))
            assert 503 in load.statuses  # the outages were seen


async def test_pages_answer_after_each_relay_cut(lonely_database):
    parts = urlsplit(lonely_database)
    relay = await Relay((parts.hostname, parts.port or 5432)).start()
    through_relay = parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl()

    async def cut(_: int) -> None:
        await relay.cut()

    try:
        await _run_rounds(through_relay, cut, relay.restore, rounds=4)
    finally:
        await relay.cut()


async def test_pages_answer_after_each_database_restart(postgres_cluster):  # noqa: F811
    modes = ["fast", "immediate"]

    async def stop(round_number: int) -> None:
        await asyncio.to_thread(postgres_cluster.stop, modes[round_number % 2])

    async def start() -> None:
        await asyncio.to_thread(postgres_cluster.start)

    await _run_rounds(postgres_cluster.url, stop, start, rounds=4)
