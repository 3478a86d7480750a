import uuid

from tests.world import add_app, job, make_tenant, v3_jobs_path

INGEST = "/api/v1/ingest/jobs"


async def rows(client, tenant, customer):
    response = await client.post(v3_jobs_path(customer), headers=await tenant.headers(client))
    return {r["jobId"]: r for r in response.json()["data"]}


async def post(client, tenant, body, **kwargs):
    return await client.post(INGEST, json=body, headers=await tenant.headers(client), **kwargs)


async def test_stored_records_show_in_the_v3_page(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    response = await post(client, tenant, [job(c, "J1")])
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "stale": 0, "rejected": []}
    assert (await rows(client, tenant, c))["J1"]["backupSize"] == "1 GB"


async def test_updates_apply_by_last_modify_time(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    running = job(c, "J1", status=1, endTime=None, lastModifyTime="2025-09-11T03:30:00Z")
    finished = job(c, "J1", status=2, lastModifyTime="2025-09-11T03:38:57Z")
    assert (await post(client, tenant, [running])).json()["stored"] == 1
    assert (await rows(client, tenant, c))["J1"]["status"] == 1
    assert (await post(client, tenant, [finished])).json()["stored"] == 1
    assert (await rows(client, tenant, c))["J1"]["status"] == 2
    # The running record arriving late, or twice, changes nothing.
    assert (await post(client, tenant, [running])).json() == {
        "stored": 0,
        "stale": 1,
        "rejected": [],
    }
    assert (await post(client, tenant, [finished])).json() == {
        "stored": 1,
        "stale": 0,
        "rejected": [],
    }
    assert (await rows(client, tenant, c))["J1"]["status"] == 2


async def test_records_of_one_batch_apply_in_order(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    older = job(c, "J1", status=1, endTime=None, lastModifyTime="2025-09-11T03:30:00Z")
    newer = job(c, "J1", status=3, lastModifyTime="2025-09-11T03:40:00Z")
    assert (await post(client, tenant, [newer, older])).json() == {
        "stored": 1,
        "stale": 1,
        "rejected": [],
    }
    assert (await rows(client, tenant, c))["J1"]["status"] == 3
    assert (
        await post(
            client,
            tenant,
            [job(c, "J2", lastModifyTime="2025-01-01T00:00:00Z"), job(c, "J2", status=4)],
        )
    ).json()["stored"] == 2
    assert (await rows(client, tenant, c))["J2"]["status"] == 4


async def test_bad_records_are_rejected_one_by_one(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    batch = [
        job(c, "ok-1"),
        job(c, "bad-type", jobType=42),
        {"jobId": "missing"},
        "not an object",
        job(c, "ok-2", jobModule=302),
        job(c, "bad-time", lastModifyTime="2025-09-11 03:38"),
    ]
    answer = (await post(client, tenant, batch)).json()
    assert answer["stored"] == 2 and answer["stale"] == 0
    rejected = {r["index"]: r for r in answer["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 5]
    assert rejected[1] == {
        "index": 1,
        "jobId": "bad-type",
        "error": "unknown jobType 42 (the codes: docs/codes.md)",
    }
    assert rejected[2]["jobId"] == "missing" and "customerId is required" in rejected[2]["error"]
    assert rejected[3]["jobId"] is None
    assert "lastModifyTime" in rejected[5]["error"]
    assert set(await rows(client, tenant, c)) == {"ok-1", "ok-2"}


async def test_first_record_enables_the_service(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    assert await rows(client, tenant, c) == {}
    await post(client, tenant, [job(c, "g", jobType=11, jobModule=501)])
    row = (await rows(client, tenant, c))["g"]
    assert (row["jobType"], row["jobModule"]) == (11, 501)


async def test_a_job_id_belongs_to_one_service(client, db):
    tenant = await make_tenant(db)
    c, d = tenant.customers
    await post(client, tenant, [job(c, "J1")])
    answer = (
        await post(
            client,
            tenant,
            [job(d, "J1", lastModifyTime="2026-01-01T00:00:00Z"), job(c, "J1", jobModule=302)],
        )
    ).json()
    assert [r["index"] for r in answer["rejected"]] == [0, 1]
    assert "already recorded" in answer["rejected"][0]["error"]
    assert answer["stored"] == 0


async def test_job_ids_are_per_partner(client, db):
    first, second = await make_tenant(db), await make_tenant(db)
    assert (await post(client, first, [job(first.customers[0], "SAME")])).json()["stored"] == 1
    assert (await post(client, second, [job(second.customers[0], "SAME", status=3)])).json()[
        "stored"
    ] == 1
    assert (await rows(client, first, first.customers[0]))["SAME"]["status"] == 2


async def test_latest_moves_back_when_the_latest_jobs_start_moves_back(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await post(client, tenant, [
        job(c, "A", startTime="2025-09-10T03:00:00Z", endTime="2025-09-10T04:00:00Z", lastModifyTime="2025-09-10T04:00:00Z"),
        job(c, "B", startTime="2025-09-11T03:00:00Z", endTime="2025-09-11T04:00:00Z", lastModifyTime="2025-09-11T04:00:00Z"),
    ])  # fmt: skip
    assert set(await rows(client, tenant, c)) == {"B"}
    await post(
        client,
        tenant,
        [
            job(
                c,
                "B",
                startTime="2025-09-09T03:00:00Z",
                endTime="2025-09-09T04:00:00Z",
                lastModifyTime="2025-09-12T00:00:00Z",
            )
        ],
    )
    assert set(await rows(client, tenant, c)) == {"A"}


async def test_an_earlier_job_arriving_late_does_not_replace_the_latest(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await post(
        client,
        tenant,
        [job(c, "new", startTime="2025-09-11T03:00:00Z", endTime="2025-09-11T04:00:00Z")],
    )
    await post(
        client,
        tenant,
        [job(c, "old", startTime="2025-09-01T03:00:00Z", endTime="2025-09-01T04:00:00Z")],
    )
    assert set(await rows(client, tenant, c)) == {"new"}


async def test_empty_batch(client, db):
    tenant = await make_tenant(db)
    assert (await post(client, tenant, [])).json() == {"stored": 0, "stale": 0, "rejected": []}


async def test_body_must_be_an_array_of_at_most_1000(client, db):
    tenant = await make_tenant(db)
    headers = {**await tenant.headers(client), "Content-Type": "application/json"}
    for body in (b'{"jobId": "x"}', b"null", b"{bad", b""):
        response = await client.post(INGEST, content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"
    too_many = [job(tenant.customers[0], f"J{i}") for i in range(1001)]
    response = await post(client, tenant, too_many)
    assert response.status_code == 400 and "1000" in response.json()["detail"]
    assert (await rows(client, tenant, tenant.customers[0])) == {}


async def test_a_full_batch_of_1000_is_stored(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    batch = [
        job(c, f"J{i:04d}", startTime=f"2025-09-{1 + i % 28:02d}T03:00:00Z", endTime=None, status=1)
        for i in range(1000)
    ]
    assert (await post(client, tenant, batch)).json()["stored"] == 1000


async def test_oversized_body_is_413(client, db, settings):
    tenant = await make_tenant(db)
    body = b"[" + b" " * settings.max_request_bytes + b"]"
    headers = {**await tenant.headers(client), "Content-Type": "application/json"}
    response = await client.post(INGEST, content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_app_writes_only_within_its_customer_scope(client, db):
    tenant = await make_tenant(db, customers=2)
    scoped = await add_app(db, tenant, app_customers=[0])
    c, outside = tenant.customers
    answer = (await post(client, scoped, [job(c, "in"), job(outside, "out")])).json()
    assert answer["stored"] == 1
    assert answer["rejected"] == [
        {"index": 1, "jobId": "out", "error": f"unknown customer {outside}"}
    ]


async def test_another_partners_customer_is_rejected_like_an_unknown_one(client, db):
    mine, theirs = await make_tenant(db), await make_tenant(db)
    missing = uuid.uuid4()
    answer = (await post(client, mine, [job(theirs.customers[0], "x"), job(missing, "y")])).json()
    assert [r["error"] for r in answer["rejected"]] == [
        f"unknown customer {theirs.customers[0]}",
        f"unknown customer {missing}",
    ]
    assert await rows(client, theirs, theirs.customers[0]) == {}
