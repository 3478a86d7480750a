"""GET /api/v1/summary and /daily: figures from the kept outcomes, equal to the history's;
customers worst first; days in any IANA zone; paging; 400s and 404s; scope."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.reports import make_world
from tests.world import ingest, job, make_tenant

SUMMARY = "/api/v1/summary"
DAILY = "/api/v1/daily"


@pytest.fixture
async def world(client, db):
    return await make_world(client, db)


async def test_summary_totals_and_customers_worst_first(client, world):
    body = (await client.get(SUMMARY, headers=await world.a.headers(client))).json()
    totals = body["totals"]
    assert totals["customers"] == 3 and totals["services"] == 5
    # Everything within the last 7 days: all 14 jobs of partner A.
    assert totals["jobs"] == len(world.records)
    assert totals["byStatus"] == {
        "Running": 1,
        "Finished": 8,
        "Failed": 4,
        "Finished with exception": 1,
        "Failed to start": 1,
    }
    assert totals["successRate"] == pytest.approx(8 / 14)
    assert totals["failingServices"] == 1 and totals["staleServices"] == 2
    names = [c["customerName"] for c in body["customers"]]
    # Bravo: an exception and no updates for 72 h (4); Alpha: failed (2); Charlie: 1.
    assert names == ["Bravo", "Alpha", "Charlie"]
    assert body["customers"][0]["jobStatusName"] == "Multiple issues found"
    alpha = body["customers"][1]
    assert (alpha["jobStatus"], alpha["jobStatusName"]) == (2, "Failed")
    assert alpha["jobs"] == 10 and alpha["byStatus"]["Failed"] == 3
    assert alpha["successRate"] == pytest.approx(6 / 10)
    charlie = body["customers"][2]
    assert charlie["jobStatusName"] == "Working" and charlie["failingServices"] == 0
    assert charlie["successRate"] == 0.5 and charlie["lastSuccessTime"] is not None
    assert body["nextCursor"] is None
    assert body["from"].endswith("Z") and body["to"].endswith("Z")


async def test_summary_window_and_paging(client, world):
    headers = await world.a.headers(client)
    today = (
        await client.get(
            SUMMARY,
            params={"from": (datetime.now(UTC) - timedelta(hours=12)).isoformat()},
            headers=headers,
        )
    ).json()
    assert today["totals"]["jobs"] == 4  # A-sp-0, A-gr-0, C-gr-0, C-ex-0
    first = (await client.get(SUMMARY, params={"limit": 2}, headers=headers)).json()
    assert [c["customerName"] for c in first["customers"]] == ["Bravo", "Alpha"]
    second = (
        await client.get(
            SUMMARY, params={"limit": 2, "cursor": first["nextCursor"]}, headers=headers
        )
    ).json()
    assert [c["customerName"] for c in second["customers"]] == ["Charlie"]
    assert second["totals"] == first["totals"] and second["nextCursor"] is None


async def test_a_job_at_20z_is_on_the_next_tokyo_day(client, db):
    tenant = await make_tenant(db, customers=1)
    customer = tenant.customers[0]
    start = datetime(2026, 11, 30, 20, tzinfo=UTC)  # 2026-12-01 05:00 in Tokyo
    await ingest(
        client,
        tenant,
        [
            job(
                customer,
                "tokyo-1",
                startTime=start.isoformat(),
                endTime=(start + timedelta(minutes=10)).isoformat(),
                lastModifyTime=(start + timedelta(minutes=10)).isoformat(),
            ),
            job(
                customer,
                "kathmandu-1",
                status=3,
                startTime="2026-11-30T18:14:00Z",  # 23:59 in Kathmandu (+05:45)
                endTime="2026-11-30T18:20:00Z",
                lastModifyTime="2026-11-30T18:20:00Z",
            ),
        ],
    )
    headers = await tenant.headers(client)
    window = {"from": "2026-11-30", "to": "2026-12-02"}
    tokyo = (await client.get(DAILY, params={**window, "tz": "Asia/Tokyo"}, headers=headers)).json()
    days = {item["date"]: item for item in tokyo["items"]}
    assert list(days) == ["2026-11-30", "2026-12-01"]
    assert days["2026-12-01"]["byStatus"] == {"Finished": 1, "Failed": 1}
    assert days["2026-12-01"]["durationSeconds"] == 600 + 360
    utc = {
        i["date"]: i
        for i in (await client.get(DAILY, params=window, headers=headers)).json()["items"]
    }
    assert utc["2026-11-30"]["jobs"] == 2 and utc["2026-12-01"]["jobs"] == 0
    kathmandu = (
        await client.get(DAILY, params={**window, "tz": "Asia/Kathmandu"}, headers=headers)
    ).json()
    by_day = {i["date"]: i["byStatus"] for i in kathmandu["items"]}
    assert by_day["2026-11-30"] == {"Failed": 1} and by_day["2026-12-01"] == {"Finished": 1}
    assert tokyo["items"][0]["backupSizeBytes"] == 0
    assert days["2026-12-01"]["backupSizeBytes"] == 2 * 1073741824


async def test_daily_filters_and_paging(client, world):
    headers = await world.a.headers(client)
    every = (await client.get(DAILY, headers=headers)).json()
    assert every["nextCursor"] is None and len(every["items"]) == 3 * 7
    assert sum(item["jobs"] for item in every["items"]) == len(world.records)
    ordered = [(item["customerId"], item["date"]) for item in every["items"]]
    assert ordered == sorted(ordered)
    seen, query = [], {"limit": 4}
    while True:
        body = (await client.get(DAILY, params=query, headers=headers)).json()
        seen += [(item["customerId"], item["date"]) for item in body["items"]]
        if not body["nextCursor"]:
            break
        query = {"limit": 4, "cursor": body["nextCursor"]}
    assert seen == ordered
    exchange = (await client.get(DAILY, params={"jobModule": "303"}, headers=headers)).json()
    assert sum(item["jobs"] for item in exchange["items"]) == 1


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        (DAILY, {"tz": "Mars/Olympus"}, ["tz", "Mars/Olympus"]),
        (DAILY, {"tz": "../etc/passwd"}, ["tz"]),
        (SUMMARY, {"from": "last week"}, ["from", "last week"]),
        (SUMMARY, {"from": "2026-12-01", "to": "2026-11-01"}, ["from", "to"]),
        (SUMMARY, {"staleAfter": "forever"}, ["staleAfter", "forever"]),
        (DAILY, {"from": "1900-01-01", "to": "2026-01-01"}, ["from"]),
        (DAILY, {"jobModule": "Floppy"}, ["jobModule", "Floppy"]),
    ],
)
async def test_wrong_values_are_400s(client, world, path, params, named):
    answer = await client.get(path, params=params, headers=await world.a.headers(client))
    assert answer.status_code == 400, answer.text
    assert all(word in answer.json()["detail"] for word in named)


@pytest.mark.parametrize("path", [SUMMARY, DAILY])
async def test_scope_and_foreign_customers(client, world, path):
    headers = await world.scoped.headers(client)
    answers = set()
    for customer in (world.b.customers[0], world.a.customers[1], uuid.uuid4()):
        answer = await client.get(path, params={"customerId": str(customer)}, headers=headers)
        answers.add((answer.status_code, answer.text.replace(str(customer), "<id>")))
    assert len(answers) == 1 and next(iter(answers))[0] == 404
    body = (await client.get(path, headers=headers)).json()
    listed = body["customers"] if path == SUMMARY else body["items"]
    assert {str(item["customerId"]) for item in listed} == {str(world.a.customers[0])}
