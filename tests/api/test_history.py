"""GET /api/v1/jobs: every run of the visible customers, newest first, every filter,
cursor paging without gap or duplicate while jobs arrive, cursors bound and signed, 400s
naming the parameter and value, 404 for a customer the app may not see, permissions."""

import uuid

import pytest

from backupjobs.auth.permissions import Permission
from tests.api.reports import make_world, run
from tests.world import ingest, make_tenant

JOBS = "/api/v1/jobs"


@pytest.fixture
async def world(client, db):
    return await make_world(client, db)


async def every_page(client, headers, params, limit):
    items, url, pages = [], JOBS, 0
    query = {**params, "limit": limit}
    while url:
        answer = await client.get(url, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        pages += 1
        cursor = body["nextCursor"]
        assert ("link" in answer.headers) == (cursor is not None)
        query = {**query, "cursor": cursor} if cursor else {}
        url = JOBS if cursor else None
    return items, pages


async def test_the_history_is_every_run_newest_first(client, world):
    headers = await world.a.headers(client)
    body = (await client.get(JOBS, headers=headers)).json()
    ids = [item["jobId"] for item in body["items"]]
    assert len(ids) == len(world.records) and body["nextCursor"] is None
    times = [item["startTime"] for item in body["items"]]
    assert times == sorted(times, reverse=True)
    failed = next(item for item in body["items"] if item["jobId"] == "A-gr-0")
    assert failed["status"] == 3 and failed["statusName"] == "Failed"
    assert failed["customerName"] == "Alpha" and failed["jobModuleName"]
    assert failed["durationSeconds"] == 1800 and failed["backupSizeBytes"] == 1073741824
    running = next(item for item in body["items"] if item["jobId"] == "C-ex-0")
    assert running["endTime"] is None and running["durationSeconds"] >= 3600
    assert "X-1" not in ids  # another partner's


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": ["3", "Failed to start"]}, {"A-gr-0", "A-gr-1", "A-gr-2", "A-gr-3", "C-gr-1"}),
        ({"status": "finished with exception"}, {"B-gr-0"}),
        ({"jobModule": "Exchange Online"}, {"C-ex-0"}),
        ({"jobType": ["7"], "jobModule": ["302"], "q": "sharepoint 4"}, {"A-sp-4"}),
        ({"q": "weekly"}, {"B-gr-0"}),
        ({"q": "%"}, set()),
    ],
)
async def test_filters(client, world, params, expected):
    body = (await client.get(JOBS, params=params, headers=await world.a.headers(client))).json()
    assert {item["jobId"] for item in body["items"]} == expected


async def test_customer_and_time_window_filters(client, world):
    headers = await world.a.headers(client)
    alpha, bravo, _ = world.a.customers
    both = (
        await client.get(JOBS, params={"customerId": [str(alpha), str(bravo)]}, headers=headers)
    ).json()
    assert {item["customerName"] for item in both["items"]} == {"Alpha", "Bravo"}
    newest = next(item for item in both["items"] if item["jobId"] == "A-sp-0")
    window = {"startedFrom": newest["startTime"], "startedTo": "2999-01-01"}
    since = (await client.get(JOBS, params=window, headers=headers)).json()
    assert "A-sp-0" in {item["jobId"] for item in since["items"]}
    assert all(item["startTime"] >= newest["startTime"] for item in since["items"])
    before = await client.get(JOBS, params={"startedTo": newest["startTime"]}, headers=headers)
    assert "A-sp-0" not in {item["jobId"] for item in before.json()["items"]}


async def test_paging_has_no_gap_or_duplicate_while_jobs_arrive(client, world):
    headers = await world.a.headers(client)
    seen, url, query, pages = [], JOBS, {"limit": 3}, 0
    while url:
        body = (await client.get(url, params=query, headers=headers)).json()
        seen += [item["jobId"] for item in body["items"]]
        pages += 1
        # New runs (newer than every page) and a re-report arrive between pages.
        alpha = world.a.customers[0]
        await ingest(client, world.a, [run(alpha, f"new-{pages}", 0.01 * pages)])
        cursor = body["nextCursor"]
        query = {"limit": 3, "cursor": cursor} if cursor else {}
        url = JOBS if cursor else None
    assert len(seen) == len(set(seen)) == len(world.records)
    assert pages == -(-len(world.records) // 3)


async def test_a_cursor_with_other_filters_or_altered_is_a_400(client, world):
    headers = await world.a.headers(client)
    first = (await client.get(JOBS, params={"limit": 2, "status": 3}, headers=headers)).json()
    cursor = first["nextCursor"]
    other = await client.get(
        JOBS, params={"limit": 2, "status": 2, "cursor": cursor}, headers=headers
    )
    assert other.status_code == 400 and "cursor" in other.json()["detail"]
    altered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    answer = await client.get(
        JOBS, params={"limit": 2, "status": 3, "cursor": altered}, headers=headers
    )
    assert answer.status_code == 400 and "cursor" in answer.json()["detail"]
    # Another app of the same partner cannot reuse it either.
    scoped = await client.get(
        JOBS,
        params={"limit": 2, "status": 3, "cursor": cursor},
        headers=await world.scoped.headers(client),
    )
    assert scoped.status_code == 400


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "Exploded"}, ["status", "Exploded"]),
        ({"status": "999"}, ["status", "999"]),
        ({"jobModule": "Floppy"}, ["jobModule", "Floppy"]),
        ({"jobType": "x"}, ["jobType"]),
        ({"customerId": "not-a-uuid"}, ["customerId", "not-a-uuid"]),
        ({"startedFrom": "yesterday"}, ["startedFrom", "yesterday"]),
        ({"startedFrom": "2026-11-30T00:00:00"}, ["startedFrom", "offset"]),
        ({"startedFrom": "2026-12-01", "startedTo": "2026-11-30"}, ["startedFrom", "startedTo"]),
        ({"limit": "0"}, ["limit"]),
        ({"limit": "1001"}, ["limit"]),
        ({"q": "x" * 201}, ["q", "200"]),
    ],
)
async def test_wrong_values_are_400s_naming_parameter_and_value(client, world, params, named):
    answer = await client.get(JOBS, params=params, headers=await world.a.headers(client))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    for word in named:
        assert word in detail
    assert "Traceback" not in answer.text and "SELECT" not in answer.text


async def test_a_customer_the_app_may_not_see_is_a_404_like_a_missing_one(client, world):
    headers = await world.scoped.headers(client)
    answers = {}
    for name, customer in {
        "other partner": world.b.customers[0],
        "outside app scope": world.a.customers[1],
        "nonexistent": uuid.uuid4(),
    }.items():
        answer = await client.get(JOBS, params={"customerId": str(customer)}, headers=headers)
        answers[name] = (answer.status_code, answer.text.replace(str(customer), "<id>"))
    assert answers["other partner"][0] == 404
    assert answers["other partner"] == answers["outside app scope"] == answers["nonexistent"]
    mine = (await client.get(JOBS, headers=headers)).json()
    assert {item["customerName"] for item in mine["items"]} == {"Alpha"}


async def test_either_generations_jobs_permission_reads_it(client, db, world):
    for permission in (Permission.V3_JOBS_READ, Permission.MODERN_JOBS_READ):
        tenant = await make_tenant(db, permissions=frozenset({permission.value}))
        answer = await client.get(JOBS, headers=await tenant.headers(client))
        assert answer.status_code == 200 and answer.json() == {"items": [], "nextCursor": None}
    other = await make_tenant(db, permissions=frozenset({Permission.JOBS_WRITE.value}))
    answer = await client.get(JOBS, headers=await other.headers(client))
    assert answer.status_code == 403
    assert "elements.jobs.read.all or partner.jobs.read.all" in answer.json()["detail"]
    assert (await client.get(JOBS)).status_code == 401
