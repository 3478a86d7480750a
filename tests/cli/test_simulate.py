"""``backupjobs simulate``: a realistic tenant, the same for the same seed, written through
ingestion (the same data on SQLite and on PostgreSQL), with working credentials."""

import asyncio
import collections
import json

import httpx
import pytest
from sqlalchemy import select

from backupjobs.api import build_application
from backupjobs.settings import Settings
from backupjobs.store.database import Database
from backupjobs.store.schema import backup_services, customers, jobs, partners
from tests.processes import cli, environment
from tests.services import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.slow

NOW = "2025-09-11T12:00:00"


def simulate(database_url, *args):
    done = cli(environment(database_url), "simulate", *args, "--now", NOW, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # the progress bar goes to stderr
    answer = json.loads(lines[0])
    assert set(answer) == {"partnerId", "customers", "jobs", "clientId", "clientSecret"}
    return answer


def dump(database_url):
    """Everything simulate wrote, as comparable values: every job field, the services and
    customers (but the partner's id, which is new each time, like the app's secret)."""

    async def read():
        db = Database(database_url)
        try:
            async with db.read() as connection:
                job_columns = [c for c in jobs.c if c.name not in {"partner_id", "recorded_at"}]
                service_columns = [
                    c
                    for c in backup_services.c
                    if c.name not in {"partner_id", "revision", "enabled_at"}
                ]
                return {
                    "partners": (await connection.execute(select(partners.c.name))).all(),
                    "customers": sorted(
                        (await connection.execute(select(customers.c.id, customers.c.name))).all()
                    ),
                    "services": sorted(
                        (await connection.execute(select(*service_columns))).all(), key=str
                    ),
                    "jobs": sorted((await connection.execute(select(*job_columns))).all(), key=str),
                }
        finally:
            await db.dispose()

    return asyncio.run(read())


@pytest.fixture
def postgres_url():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def test_the_tenant_and_its_app_work_over_the_api(tmp_path):
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    answer = simulate(url, "--customers", "4", "--days", "3", "--seed", "9")
    assert answer["customers"] == 4 and answer["jobs"] > 4 * 3

    async def check():
        app = build_application(Settings(database_url=url, public_url="http://sim.test"))
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
                issued = await c.post(
                    "/connect/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": answer["clientId"],
                        "client_secret": answer["clientSecret"],
                    },
                )
                assert issued.status_code == 200, issued.text
                token = issued.json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                listed = await c.post(
                    "/partner/external/v3/general/customers/batch", headers=headers
                )
                ids = [row["id"] for row in listed.json()["data"]]
                assert len(ids) == 4
                page = await c.post(
                    f"/partner/external/v3/general/customers/{ids[0]}/jobs", headers=headers
                )
                assert page.status_code == 200 and page.json()["data"]

    asyncio.run(check())
    assert dump(url)["partners"] == [("Simulated MSP",)]


def test_the_same_seed_gives_the_same_data_on_sqlite_and_postgresql(tmp_path, postgres_url):
    first = f"sqlite:///{tmp_path / 'first.db'}"
    second = f"sqlite:///{tmp_path / 'second.db'}"
    args = ("--customers", "6", "--days", "4", "--seed", "21")
    answers = [simulate(url, *args) for url in (first, second, postgres_url)]
    assert len({a["jobs"] for a in answers}) == 1
    assert len({a["clientSecret"] for a in answers}) == 3  # credentials are always new
    data = dump(first)
    assert dump(second) == data
    assert dump(postgres_url) == data
    other = f"sqlite:///{tmp_path / 'other.db'}"
    simulate(other, "--customers", "6", "--days", "4", "--seed", "22")
    assert dump(other)["customers"] != data["customers"]


def test_the_history_is_realistic(tmp_path):
    url = f"sqlite:///{tmp_path / 'mix.db'}"
    answer = simulate(url, "--customers", "60", "--days", "10", "--seed", "3")
    data = dump(url)
    services_by_type = collections.Counter(service[1] for service in data["services"])
    customers_with = collections.defaultdict(set)
    for service in data["services"]:
        customers_with[service[1]].add(service[0])
    assert len(customers_with[7]) > 60 * 0.7  # most protect Microsoft 365
    assert customers_with[0] == customers_with[7]  # ... and scan it
    assert 5 < len(customers_with[11]) < 40  # some Google Workspace
    assert {12, 15, 16} <= set(services_by_type)  # a few IaaS PaaS, Salesforce, Dynamics
    assert len(data["services"]) / 60 > 10  # several modules each
    never_run = [service for service in data["services"] if service[3] is None]
    assert never_run  # some services have never run
    statuses = collections.Counter(job[4] for job in data["jobs"])
    assert statuses[2] > 0.8 * answer["jobs"]  # mostly finished
    assert statuses[3] and statuses[4]  # some failed, some finished with exception
    assert statuses[1]  # a few still running
    days = collections.Counter(job[3][:10] for job in data["jobs"])
    assert len(days) >= 10  # nightly jobs over the days asked for


def test_a_database_holding_the_seed_already_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    simulate(url, "--customers", "2", "--days", "1", "--seed", "4")
    done = cli(environment(url), "simulate", "--customers", "2", "--days", "1", "--seed", "4")
    assert done.returncode == 1
    assert "seed 4" in done.stderr
