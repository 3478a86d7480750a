import uuid

import pytest

from tests.world import enable, ingest, job, make_tenant, v3_jobs_path

SEED_ROW = {
    "jobType": 7, "jobModule": 304, "status": 3, "jobId": "FB20250911032116214502", "name": "N/A",
    "totalCount": "2323", "failedCount": "0", "successfulCount": "2323", "skippedCount": "0",
    "warningCount": "0", "backupSize": "0 GB", "startTime": "2025-09-11T03:21:16Z",
    "endTime": "2025-09-11T03:38:56Z", "jobDuration": "17m39s", "lastModifyTime": "2025-09-11T03:38:57Z",
}  # fmt: skip

V3_PATHS = [
    "/partner/external/v3/general/customers/{c}/jobs",
    "/partner/external/v3/general/customers/{c}/avpt-products/jobs/batch",
]


def seed_record(customer):
    return job(
        customer, "FB20250911032116214502", status=3, name=None, backupSizeBytes=0,
        startTime="2025-09-11T03:21:16.8Z", endTime="2025-09-11T03:38:56.2Z",
    )  # fmt: skip


@pytest.mark.parametrize("path", V3_PATHS)
async def test_seed_sample_round_trip(client, db, path):
    tenant = await make_tenant(db)
    customer = tenant.customers[0]
    await ingest(client, tenant, [seed_record(customer)])
    await enable(db, customer, 7, 302)
    response = await client.post(path.format(c=customer), headers=await tenant.headers(client))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["metadata"] == {"pageIndex": 1, "pageSize": 100, "totalCount": 2}
    placeholder, seed = body["data"]
    assert seed == SEED_ROW
    assert list(seed) == list(SEED_ROW)
    assert placeholder == {
        "jobType": 7, "jobModule": 302, "status": 0, "jobId": "N/A", "name": "N/A",
        "totalCount": "0", "failedCount": "0", "successfulCount": "0", "skippedCount": "0",
        "warningCount": "0", "backupSize": "0 GB", "startTime": "N/A", "endTime": "N/A",
        "jobDuration": "N/A", "lastModifyTime": "N/A",
    }  # fmt: skip


async def test_rows_are_each_services_latest_job_ordered_by_type_then_module(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [
        job(c, "old-groups", startTime="2025-09-10T03:00:00Z", endTime="2025-09-10T04:00:00Z", lastModifyTime="2025-09-10T04:00:00Z"),
        job(c, "new-groups", startTime="2025-09-11T03:00:00Z", endTime="2025-09-11T04:00:00Z", lastModifyTime="2025-09-11T04:00:00Z"),
        job(c, "gmail", jobType=11, jobModule=501),
        job(c, "sharepoint", jobModule=302),
        job(c, "m365scan", jobType=0, jobModule=0),
    ])  # fmt: skip
    body = (await client.post(v3_jobs_path(c), headers=await tenant.headers(client))).json()
    assert [(r["jobType"], r["jobModule"], r["jobId"]) for r in body["data"]] == [
        (0, 0, "m365scan"), (7, 302, "sharepoint"), (7, 304, "new-groups"), (11, 501, "gmail"),
    ]  # fmt: skip


async def test_a_job_without_start_time_sorts_by_its_last_modification(client, db):
    """One sort key (SPEC §4 "Latest"): startTime, or lastModifyTime without one."""
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    headers = await tenant.headers(client)

    async def latest():
        return (await client.post(v3_jobs_path(c), headers=headers)).json()["data"][0]

    await ingest(client, tenant, [
        job(c, "done", startTime="2025-09-11T03:00:00Z", lastModifyTime="2025-09-11T04:00:00Z"),
        # Reported before "done" started: not the latest (it hid every later job once).
        job(c, "stale-queue", status=6, startTime=None, endTime=None,
            lastModifyTime="2025-09-11T02:00:00Z"),
    ])  # fmt: skip
    assert (await latest())["jobId"] == "done"
    await ingest(client, tenant, [
        job(c, "queued", status=6, startTime=None, endTime=None,
            lastModifyTime="2025-09-11T05:00:00Z"),
    ])  # fmt: skip
    row = await latest()
    assert row["jobId"] == "queued" and row["status"] == 6
    assert row["startTime"] == row["endTime"] == row["jobDuration"] == "N/A"
    # It starts: its sort time moves back to its start, before nothing newer: still latest.
    await ingest(client, tenant, [
        job(c, "queued", status=1, startTime="2025-09-11T04:30:00Z", endTime=None,
            lastModifyTime="2025-09-11T05:01:00Z"),
    ])  # fmt: skip
    assert (await latest())["jobId"] == "queued"
    # Started before "done": the latest moves back to "done" (recomputed from history).
    await ingest(client, tenant, [
        job(c, "queued", status=2, startTime="2025-09-11T02:30:00Z",
            endTime="2025-09-11T05:02:00Z", lastModifyTime="2025-09-11T05:02:00Z"),
    ])  # fmt: skip
    assert (await latest())["jobId"] == "done"


async def test_filters_by_job_type_and_module(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(
        client,
        tenant,
        [job(c, "a"), job(c, "b", jobModule=302), job(c, "c", jobType=11, jobModule=501)],
    )
    headers = await tenant.headers(client)

    async def ids(body):
        response = await client.post(v3_jobs_path(c), json=body, headers=headers)
        assert response.status_code == 200, response.text
        return [r["jobId"] for r in response.json()["data"]], response.json()["metadata"][
            "totalCount"
        ]

    assert await ids({"jobType": 7}) == (["b", "a"], 2)
    assert await ids({"jobModule": 501}) == (["c"], 1)
    assert await ids({"jobType": 7, "jobModule": 304}) == (["a"], 1)
    assert await ids({"jobType": 7, "jobModule": 501}) == ([], 0)
    assert await ids({"jobType": None, "jobModule": None, "other": "ignored"}) == (
        ["b", "a", "c"],
        3,
    )
    assert await ids({}) == (["b", "a", "c"], 3)


async def test_paging(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    modules = [302, 303, 304, 305, 306, 307, 308]
    await ingest(client, tenant, [job(c, f"j{m}", jobModule=m) for m in modules])
    headers = await tenant.headers(client)
    seen = []
    for index in (1, 2, 3):
        response = await client.post(
            f"{v3_jobs_path(c)}?pageIndex={index}&pageSize=3", headers=headers
        )
        body = response.json()
        assert body["metadata"] == {"pageIndex": index, "pageSize": 3, "totalCount": 7}
        seen += [r["jobModule"] for r in body["data"]]
    assert seen == modules
    past = (await client.post(f"{v3_jobs_path(c)}?pageIndex=4&pageSize=3", headers=headers)).json()
    assert past == {"data": [], "metadata": {"pageIndex": 4, "pageSize": 3, "totalCount": 7}}
    huge = await client.post(f"{v3_jobs_path(c)}?pageIndex=9223372036854775807", headers=headers)
    assert huge.status_code == 200 and huge.json()["data"] == []


async def test_customer_without_services_has_an_empty_page(client, db):
    tenant = await make_tenant(db)
    body = (
        await client.post(v3_jobs_path(tenant.customers[0]), headers=await tenant.headers(client))
    ).json()
    assert body == {"data": [], "metadata": {"pageIndex": 1, "pageSize": 100, "totalCount": 0}}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("pageIndex=0", "pageIndex"),
        ("pageIndex=-1", "pageIndex"),
        ("pageIndex=1.5", "pageIndex"),
        ("pageIndex=abc", "pageIndex"),
        ("pageIndex=", "pageIndex"),
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=ten", "pageSize"),
    ],
)
async def test_bad_paging_is_400_naming_the_parameter(client, db, query, names):
    tenant = await make_tenant(db)
    response = await client.post(
        f"{v3_jobs_path(tenant.customers[0])}?{query}", headers=await tenant.headers(client)
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert names in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[1]", "object"),
        (b"null", "object"),
        (b'"text"', "object"),
        (b"{bad json", "JSON"),
        (b'{"jobType": "7"}', "jobType"),
        (b'{"jobType": 7.5}', "jobType"),
        (b'{"jobType": true}', "jobType"),
        (b'{"jobModule": "SharePoint Online"}', "jobModule"),
        (b'{"jobType": 99}', "jobType 99"),
        (b'{"jobModule": 9999}', "jobModule 9999"),
    ],
)
async def test_bad_bodies_are_400_naming_what_was_wrong(client, db, body, named):
    tenant = await make_tenant(db)
    response = await client.post(
        v3_jobs_path(tenant.customers[0]), content=body,
        headers={**await tenant.headers(client), "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400, response.text
    assert named in response.json()["detail"]


async def test_body_without_content_type_is_read(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "a"), job(c, "b", jobModule=302)])
    response = await client.post(
        v3_jobs_path(c), content=b'{"jobModule": 302}', headers=await tenant.headers(client)
    )
    assert [r["jobId"] for r in response.json()["data"]] == ["b"]


async def test_unknown_customer_is_404_problem(client, db):
    tenant = await make_tenant(db)
    for customer in (uuid.uuid4(), "not-a-uuid"):
        response = await client.post(v3_jobs_path(customer), headers=await tenant.headers(client))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert str(customer) in response.json()["detail"]


async def test_customer_id_in_any_case(client, db):
    tenant = await make_tenant(db)
    response = await client.post(
        v3_jobs_path(str(tenant.customers[0]).upper()), headers=await tenant.headers(client)
    )
    assert response.status_code == 200


async def test_running_job_duration_grows_to_now(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(
        client, tenant, [job(c, "run", status=1, startTime="2025-09-11T03:00:00Z", endTime=None)]
    )
    row = (await client.post(v3_jobs_path(c), headers=await tenant.headers(client))).json()["data"][
        0
    ]
    assert row["status"] == 1 and row["endTime"] == "N/A"
    assert row["jobDuration"].startswith(tuple("123456789")) and "d" in row["jobDuration"]


# v3 customers


CUSTOMERS = "/partner/external/v3/general/customers/batch"


async def test_customers_are_ordered_by_name_then_id_and_paged(client, db):
    ids = sorted(uuid.uuid4() for _ in range(4))
    tenant = await make_tenant(
        db, customers=4, names=["Zeta", "alpha", "Mid", "Mid"], customer_ids=ids
    )
    headers = await tenant.headers(client)
    body = (await client.post(CUSTOMERS, headers=headers)).json()
    names = [(r["organization"], r["id"]) for r in body["data"]]
    assert [n for n, _ in names] == [
        "Mid",
        "Mid",
        "Zeta",
        "alpha",
    ]  # byte order, as the database sorts
    assert names[0][1] < names[1][1]
    assert body["metadata"] == {"pageIndex": 1, "pageSize": 50, "totalCount": 4}
    page = (await client.post(f"{CUSTOMERS}?pageIndex=2&pageSize=3", headers=headers)).json()
    assert len(page["data"]) == 1 and page["metadata"]["totalCount"] == 4


async def test_customers_filtered_by_id(client, db):
    tenant = await make_tenant(db, customers=3)
    headers = await tenant.headers(client)
    wanted = [str(tenant.customers[1]), str(uuid.uuid4())]
    body = (await client.post(CUSTOMERS, json={"customerIds": wanted}, headers=headers)).json()
    assert [r["id"] for r in body["data"]] == [str(tenant.customers[1])]
    assert body["metadata"]["totalCount"] == 1
    bad = await client.post(CUSTOMERS, json={"customerIds": ["nope"]}, headers=headers)
    assert bad.status_code == 400 and "customerIds[0]" in bad.json()["detail"]
    for body in (b"[]", b'{"customerIds": "x"}'):
        response = await client.post(CUSTOMERS, content=body, headers=headers)
        assert response.status_code == 400
