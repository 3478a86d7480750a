"""An acknowledged ingest survives ``kill -9`` of the server."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from backupjobs.store.database import Database
from backupjobs.store.schema import jobs
from tests.processes import Operator, environment, running_server
from tests.services import create_postgres_database, drop_postgres_database
from tests.world import job

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def durable_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'durable.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def count_jobs(url: str) -> int:
    async def count() -> int:
        db = Database(url)
        try:
            async with db.read() as connection:
                return int(await connection.scalar(select(func.count()).select_from(jobs)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(count())


def test_acknowledged_records_survive_kill_9(durable_url, tmp_path):
    env = environment(durable_url)
    operator = Operator.setup(env)
    acknowledged = 0
    for round_number in range(3):
        with running_server(env, tmp_path / "server.log") as server:
            headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
            batch = [
                job(
                    operator.customer_id,
                    f"R{round_number}-{i:04d}",
                    jobModule=[302, 303, 304, 305][i % 4],
                )
                for i in range(1000)
            ]
            response = httpx.post(
                f"{server.url}/api/v1/ingest/jobs", json=batch, headers=headers, timeout=60
            )
            assert response.status_code == 200
            assert response.json()["stored"] == 1000
            acknowledged += 1000
            server.kill()  # right after the answer, before any orderly shutdown
    assert count_jobs(durable_url) == acknowledged
    with running_server(env, tmp_path / "server.log") as server:
        headers = {"Authorization": f"Bearer {operator.token(server.url)}"}
        page = httpx.post(
            f"{server.url}/partner/external/v3/general/customers/{operator.customer_id}/jobs",
            headers=headers,
        ).json()
        assert page["metadata"]["totalCount"] == 4
