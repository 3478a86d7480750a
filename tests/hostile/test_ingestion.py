"""Hostile and broken ingestion bodies, on both databases: each bad record is rejected by
itself with an error naming its field, the others are stored, and the customer's pages
still answer."""

import pytest

from tests.world import add_app, job, make_tenant, v3_jobs_path

INGEST = "/api/v1/ingest/jobs"
TIME_FIELDS = ["startTime", "endTime", "lastModifyTime"]


async def post(client, tenant, body, **kwargs):
    return await client.post(INGEST, json=body, headers=await tenant.headers(client), **kwargs)


async def post_raw(client, tenant, body: bytes, content_type="application/json"):
    headers = {**await tenant.headers(client), "Content-Type": content_type}
    return await client.post(INGEST, content=body, headers=headers)


async def pages_answer(client, tenant, customer):
    headers = await tenant.headers(client)
    v3 = await client.post(v3_jobs_path(customer), headers=headers)
    modern = await client.get(f"/partner/customers/{customer}/jobs", headers=headers)
    assert v3.status_code == 200, v3.text
    assert modern.status_code == 200, modern.text
    return v3.json()["data"]


async def rejected_alone(client, db, bad: dict, named: str) -> str:
    """Post ``bad`` between two good records: it alone is rejected, naming ``named``."""
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    batch = [job(c, "good-1"), {**job(c, "bad"), **bad}, job(c, "good-2", jobModule=302)]
    response = await post(client, tenant, batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["stored"] == 2, answer
    [rejection] = answer["rejected"]
    assert rejection["index"] == 1
    assert named in rejection["error"], rejection
    rows = await pages_answer(client, tenant, c)
    assert {row["jobId"] for row in rows} == {"good-1", "good-2"}
    error: str = rejection["error"]
    return error


# --- 20.2 and 20.4: times outside what both databases hold -----------------------------


@pytest.mark.parametrize("field", TIME_FIELDS)
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # .NET DateTime.MinValue in UTC+1: year 0 in UTC
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
    ],
)
async def test_a_time_outside_years_1_to_9999_in_utc_is_a_record_error(client, db, field, value):
    bad = {field: value}
    if field == "startTime":
        bad["endTime"] = None
    error = await rejected_alone(client, db, bad, field)
    assert "9999" in error


@pytest.mark.parametrize("field", TIME_FIELDS)
@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59"])
async def test_a_utc_offset_beyond_15_59_is_a_record_error(client, db, field, offset):
    bad = {field: f"2025-09-11T03:40:00{offset}"}
    if field != "lastModifyTime":
        bad = {"startTime": None, "endTime": None, **bad}
    error = await rejected_alone(client, db, bad, field)
    assert "15:59" in error


async def test_offsets_up_to_15_59_are_stored(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    record = job(
        c,
        "far-east",
        startTime="2025-09-11T18:00:00+15:59",
        endTime="2025-09-11T19:00:00+15:59",
        lastModifyTime="2025-09-11T03:00:00-15:59",
    )
    assert (await post(client, tenant, [record])).json()["stored"] == 1
    [row] = await pages_answer(client, tenant, c)
    assert row["startTime"] == "2025-09-11T02:01:00Z"


# --- 20.3: NUL characters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("jobId", "nul-\u0000"), ("name", "a\u0000b"), ("customerId", "\u0000")],
)
async def test_a_nul_character_is_a_record_error_naming_the_field(client, db, field, value):
    await rejected_alone(client, db, {field: value}, field)


# --- 13: ingestion says what it refused ------------------------------------------------


async def test_an_unknown_field_is_rejected_with_the_close_right_name(client, db):
    error = await rejected_alone(client, db, {"backupSize": "5 GB"}, "backupSize")
    assert "backupSizeBytes" in error


async def test_an_unknown_field_with_no_close_name_is_rejected_naming_it(client, db):
    error = await rejected_alone(client, db, {"colour": "blue"}, "colour")
    assert "did you mean" not in error


async def test_codes_may_be_given_by_their_catalog_names(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    record = job(
        c, "named", jobType="Microsoft 365", jobModule="sharepoint online", status="Failed"
    )
    assert (await post(client, tenant, [record])).json() == {
        "stored": 1,
        "stale": 0,
        "rejected": [],
    }
    [row] = await pages_answer(client, tenant, c)
    assert (row["jobType"], row["jobModule"], row["status"]) == (7, 302, 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [("jobType", "Microsoft 366"), ("jobModule", 999), ("status", "Finished OK")],
)
async def test_an_unknown_code_or_name_is_rejected_naming_it_and_the_list(client, db, field, value):
    error = await rejected_alone(client, db, {field: value}, field)
    assert repr(value) in error or str(value) in error
    assert "docs/codes.md" in error


async def test_a_name_of_two_codes_is_rejected_naming_both(client, db):
    error = await rejected_alone(client, db, {"jobModule": "Archiver"}, "jobModule")
    assert "8" in error and "309" in error


# --- 20.9: duplicate keys, content type ------------------------------------------------


async def test_a_duplicate_key_in_a_record_is_a_record_error(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    good = (
        f'{{"jobId": "good", "customerId": "{c}", "jobType": 7, "jobModule": 304, '
        '"status": 2, "lastModifyTime": "2025-09-11T03:38:57Z"}'
    )
    twice = (
        f'{{"jobId": "twice", "customerId": "{c}", "jobType": 7, "jobModule": 302, '
        '"status": 3, "status": 2, "lastModifyTime": "2025-09-11T03:38:57Z"}'
    )
    escaped = twice.replace('"status": 2', '"st\\u0061tus": 2').replace('"twice"', '"esc"')
    response = await post_raw(client, tenant, f"[{good}, {twice}, {escaped}]".encode())
    answer = response.json()
    assert answer["stored"] == 1, answer
    assert [(r["index"], r["jobId"]) for r in answer["rejected"]] == [(1, "twice"), (2, "esc")]
    assert all(
        "status" in r["error"] and "more than once" in r["error"] for r in answer["rejected"]
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", None],
)
async def test_ingestion_takes_json_only(client, db, content_type):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = b'[{"jobId": "x"}]'
    response = await client.post(INGEST, content=body, headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON",
     "application/vnd.backupjobs+json"],
)  # fmt: skip
async def test_json_media_types_are_taken(client, db, content_type):
    tenant = await make_tenant(db)
    body = f'[{{"jobId": "x", "customerId": "{tenant.customers[0]}", "jobType": 7, '
    body += '"jobModule": 304, "status": 2, "lastModifyTime": "2025-09-11T03:38:57Z"}]'
    response = await post_raw(client, tenant, body.encode(), content_type)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1


# --- 20.5: nesting ---------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_a_deeply_nested_body_is_a_400(client, db, depth):
    tenant = await make_tenant(db)
    body = b"[" * depth + b"]" * depth
    response = await post_raw(client, tenant, body)
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["detail"]


async def test_a_deeply_nested_value_in_a_record_is_a_record_error(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    deep = "[" * 500 + "]" * 500
    good = f'{{"jobId": "good", "customerId": "{c}", "jobType": 7, "jobModule": 304, '
    good += '"status": 2, "lastModifyTime": "2025-09-11T03:38:57Z"}'
    response = await post_raw(
        client, tenant, f'[{good}, {{"jobId": "deep", "name": {deep}}}]'.encode()
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["stored"] == 1
    assert [(r["index"], r["jobId"]) for r in answer["rejected"]] == [(1, "deep")]
    assert "name" in answer["rejected"][0]["error"]


# --- 20.6: jobId collisions ------------------------------------------------------------


async def test_a_jobid_collision_reveals_nothing_about_a_job_the_app_cannot_see(client, db):
    tenant = await make_tenant(db, customers=3)
    mine, also_mine, theirs = tenant.customers
    limited = await add_app(db, tenant, app_customers=[0, 1])
    # Recorded by the partner's unlimited app, for a customer the limited one cannot see.
    await post(client, tenant, [job(theirs, "HIDDEN-1"), job(also_mine, "SEEN-1")])
    hidden = (await post(client, limited, [job(mine, "HIDDEN-1")])).json()
    seen = (await post(client, limited, [job(mine, "SEEN-1")])).json()
    assert hidden["stored"] == seen["stored"] == 0
    hidden_error = hidden["rejected"][0]["error"]
    seen_error = seen["rejected"][0]["error"]
    assert str(theirs) not in hidden_error
    assert str(also_mine) not in seen_error
    # The same words whether the app may see the other job or not.
    assert hidden_error.replace("HIDDEN-1", "X") == seen_error.replace("SEEN-1", "X")
