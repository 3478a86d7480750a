"""GET /api/v1/services: every service with its health, worst first, from the services'
rows; the SQL order agrees with model.health's rule; filters, staleAfter, paging, scope."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backupjobs.model.health import SEVERITY, Health, service_health
from backupjobs.store.service_health import ServiceFilters, services_statement
from tests.api.reports import make_world
from tests.jobs import scope
from tests.world import enable

SERVICES = "/api/v1/services"


@pytest.fixture
async def world(client, db):
    made = await make_world(client, db)
    await enable(db, made.a.customers[1], 7, 305)  # Bravo: OneDrive, never run
    return made


def by_service(items):
    return {(item["customerName"], item["jobModule"]): item for item in items}


async def test_every_service_with_its_health_worst_first(client, world):
    body = (await client.get(SERVICES, headers=await world.a.headers(client))).json()
    services = by_service(body["items"])
    failing = services[("Alpha", 304)]
    # Its last success was four days ago: failing and stale, both reported.
    assert (failing["health"], failing["stale"]) == ("failing", True)
    assert failing["consecutiveFailures"] == 4  # three failed, one failed to start
    assert failing["latestJob"]["jobId"] == "A-gr-0"
    assert failing["openIncidentId"] is None
    assert failing["lastSuccessTime"] is not None
    assert services[("Alpha", 302)]["health"] == "healthy"
    quiet = services[("Bravo", 304)]
    assert (quiet["health"], quiet["stale"], quiet["consecutiveFailures"]) == ("stale", True, 0)
    assert services[("Bravo", 305)]["health"] == "never_run"
    assert services[("Bravo", 305)]["latestJob"] is None
    recovering = services[("Charlie", 304)]
    assert (recovering["health"], recovering["consecutiveFailures"]) == ("healthy", 0)
    assert services[("Charlie", 303)]["health"] == "running"
    order = [item["health"] for item in body["items"]]
    assert order == sorted(order, key=lambda h: SEVERITY[Health(h)])
    assert "Other partner's" not in {item["customerName"] for item in body["items"]}


async def test_last_success_is_the_latest_successful_jobs_end(client, world):
    body = (await client.get(SERVICES, headers=await world.a.headers(client))).json()
    history = (
        await client.get(
            "/api/v1/jobs",
            params={"jobModule": 304, "status": 2},
            headers=await world.a.headers(client),
        )
    ).json()
    alpha_success = next(i for i in history["items"] if i["customerName"] == "Alpha")
    assert by_service(body["items"])[("Alpha", 304)]["lastSuccessTime"] == alpha_success["endTime"]


async def test_filters_and_stale_after(client, world):
    headers = await world.a.headers(client)
    failing = (await client.get(SERVICES, params={"health": "failing"}, headers=headers)).json()
    assert {(i["customerName"], i["jobModule"]) for i in failing["items"]} == {("Alpha", 304)}
    # With a week's patience, Bravo's quiet service is only a warning.
    patient = (await client.get(SERVICES, params={"staleAfter": "P7D"}, headers=headers)).json()
    assert by_service(patient["items"])[("Bravo", 304)]["health"] == "warning"
    bravo = (
        await client.get(
            SERVICES,
            params={"customerId": str(world.a.customers[1]), "jobModule": "Microsoft 365 Groups"},
            headers=headers,
        )
    ).json()
    assert [(i["customerName"], i["jobModule"]) for i in bravo["items"]] == [("Bravo", 304)]


async def test_paging_walks_the_whole_list(client, world):
    headers = await world.a.headers(client)
    whole = (await client.get(SERVICES, headers=headers)).json()["items"]
    seen, query = [], {"limit": 2}
    while True:
        body = (await client.get(SERVICES, params=query, headers=headers)).json()
        seen += body["items"]
        if not body["nextCursor"]:
            break
        query = {"limit": 2, "cursor": body["nextCursor"]}
    assert [(i["customerId"], i["jobModule"]) for i in seen] == [
        (i["customerId"], i["jobModule"]) for i in whole
    ]
    other = await client.get(
        SERVICES, params={"health": "stale", "cursor": body["nextCursor"] or "x"}, headers=headers
    )
    assert other.status_code == 400


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"health": "sick"}, ["health", "sick"]),
        ({"staleAfter": "36 hours"}, ["staleAfter", "36 hours"]),
        ({"staleAfter": "P1Y"}, ["staleAfter"]),
        ({"jobType": "Floppy"}, ["jobType", "Floppy"]),
    ],
)
async def test_wrong_values_are_400s(client, world, params, named):
    answer = await client.get(SERVICES, params=params, headers=await world.a.headers(client))
    assert answer.status_code == 400
    assert all(word in answer.json()["detail"] for word in named)


async def test_scope_and_foreign_customers(client, world):
    headers = await world.scoped.headers(client)
    mine = (await client.get(SERVICES, headers=headers)).json()
    assert {i["customerName"] for i in mine["items"]} == {"Alpha"}
    answers = set()
    for customer in (world.b.customers[0], world.a.customers[1], uuid.uuid4()):
        answer = await client.get(SERVICES, params={"customerId": str(customer)}, headers=headers)
        answers.add((answer.status_code, answer.text.replace(str(customer), "<id>")))
    assert len(answers) == 1 and next(iter(answers))[0] == 404


async def test_the_sql_health_is_the_models(db, world, settings):
    """Every service, at several moments: the database's rank is model.health's rule."""
    async with db.read() as connection:
        for hours in (0, 30, 40, 100):
            now = datetime.now(UTC) + timedelta(hours=hours)
            statement = services_statement(
                scope(world.a), ServiceFilters(), now=now, stale_after=settings.stale_after
            )
            for row in await connection.execute(statement):
                health, _ = service_health(
                    row.latest_status,
                    last_success=row.last_success_time,
                    since=row.enabled_at,
                    now=now,
                    stale_after=settings.stale_after,
                )
                assert row.health_rank == SEVERITY[health]
