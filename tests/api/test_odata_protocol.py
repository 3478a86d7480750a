"""The Modern feeds as an OData 4.0 service (issue 16, defects 1-8), in-process on SQLite
and PostgreSQL: errors, negotiation, keys, $count, metadata levels."""

import uuid

import pytest

from tests.api.odata_answers import odata_error
from tests.conftest import PUBLIC_URL
from tests.world import add_app, enable, ingest, job, make_tenant

JOB_KEY = "jobs(jobType='Microsoft 365',jobModule='Microsoft 365 Groups')"


# --- errors: the OData error object, OData-Version on every answer ------------------------


async def test_every_odata_error_is_an_odata_error_object_with_its_version(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    headers = await tenant.headers(client)
    anonymous = await client.get(f"/partner/customers/{c}/jobs")
    assert "access token is required" in odata_error(anonymous, 401)
    assert anonymous.json()["error"]["code"] == "Unauthorized"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    v3_only = await tenant.headers(client, "elements.jobs.read.all")
    forbidden = await client.get(f"/partner/customers/{c}/jobs", headers=v3_only)
    assert "partner.jobs.read.all" in odata_error(forbidden, 403)
    assert odata_error(await client.get("/partner/nothing"), 404) == "No resource at this path."
    assert "not allowed" in odata_error(await client.delete("/partner/customers"), 405)
    missing = await client.get(f"/partner/customers/{uuid.uuid4()}", headers=headers)
    assert "was not found" in odata_error(missing, 404)
    unsupported = await client.get("/partner/customers?$filter=x", headers=headers)
    assert unsupported.json()["error"] == {
        "code": "NotImplemented",
        "message": "The query option $filter is not implemented on this resource; "
        "supported: $top, $skip, $count, $format.",
        "target": "$filter",
    }
    for ok in (f"/partner/customers/{c}/jobs", "/partner/customers", "/partner/$metadata",
               "/partner", f"/partner/customers/{c}/jobs/$count"):  # fmt: skip
        answer = await client.get(ok, headers=headers)
        assert (answer.status_code, answer.headers["odata-version"]) == (200, "4.0"), ok


async def test_outside_the_odata_services_errors_stay_problems(client, db):
    tenant = await make_tenant(db)
    v3 = await client.post(f"/partner/external/v3/general/customers/{uuid.uuid4()}/jobs",
                           headers=await tenant.headers(client))  # fmt: skip
    for response in (v3, await client.get("/nowhere"), await client.get("/partnerx")):
        assert response.headers["content-type"] == "application/problem+json"
        assert "odata-version" not in response.headers
        assert response.json()["status"] == response.status_code


# --- negotiation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"Accept": "application/atom+xml"}, 406, "application/atom+xml"),
        ({"Accept": "application/json;odata.metadata=verbose"}, 406, "odata.metadata=verbose"),
        ({"OData-MaxVersion": "3.0"}, 406, "OData-MaxVersion 3.0"),
        ({"OData-Isolation": "snapshot"}, 412, "snapshot"),
    ],
)
async def test_what_cannot_be_served_is_refused_on_every_resource(
    client, db, fields, status, named
):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await enable(db, c, 7, 304)
    headers = {**await tenant.headers(client), **fields}
    for path in ("/partner/customers", f"/partner/customers/{c}", f"/partner/customers/{c}/jobs",
                 f"/partner/Customers({c})/{JOB_KEY}", "/partner"):  # fmt: skip
        assert named in odata_error(await client.get(path, headers=headers), status), path


async def test_metadata_levels_full_and_none(client, db):
    tenant = await make_tenant(db, customers=1, names=["Only"])
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "groups")])
    token = await tenant.headers(client)

    async def get(path, level):
        response = await client.get(
            path, headers={**token, "Accept": f"application/json;odata.metadata={level}"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"application/json; odata.metadata={level}"
        return response.json()

    base = f"{PUBLIC_URL}/partner"
    full = await get("/partner/customers", "full")
    [customer] = full["value"]
    assert customer["@odata.type"] == "#Portal.Api.Model.Customer"
    assert customer["@odata.id"] == f"{base}/Customers({c})"
    assert customer["customerId@odata.type"] == "#Guid"
    assert customer["createdTime@odata.type"] == "#DateTimeOffset"
    assert customer["jobs@odata.navigationLink"] == f"{base}/Customers({c})/jobs"
    jobs = await get(f"/partner/customers/{c}/jobs", "full")
    [row] = jobs["value"]
    assert row["@odata.type"] == "#Portal.Api.Model.BackUpJob"
    assert row["@odata.id"] == (
        f"{base}/Customers({c})/jobs(jobType='Microsoft%20365',jobModule='Microsoft%20365%20Groups')"
    )
    assert (await client.get(row["@odata.id"].removeprefix(PUBLIC_URL), headers=token)).json()[
        "jobId"
    ] == "groups"
    for path in ("/partner/customers", f"/partner/customers/{c}/jobs"):
        none = await get(path, "none")
        assert "@odata.context" not in none and len(none["value"]) == 1
        assert not any(name.startswith("@") or "@" in name for name in none["value"][0])
    entity = await get(f"/partner/customers/{c}", "none")
    assert set(entity) == {"customerId", "customerName", "createdTime"}
    formatted = await client.get(
        f"/partner/customers/{c}?$format=application/json;odata.metadata=full", headers=token
    )
    assert formatted.json()["@odata.type"] == "#Portal.Api.Model.Customer"


# --- a job by its key -------------------------------------------------------------------


async def test_a_job_by_its_key(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "groups", status=3)])
    await enable(db, c, 11, 501)
    headers = await tenant.headers(client)
    response = await client.get(f"/partner/Customers({c})/{JOB_KEY}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{PUBLIC_URL}/partner/$metadata#Customers({c})/jobs/$entity"
    listed = (await client.get(f"/partner/customers/{c}/jobs", headers=headers)).json()["value"]
    assert {k: v for k, v in body.items() if not k.startswith("@")} == listed[0]
    reordered = "jobs(jobModule='Gmail',jobType='Google Workspace')"
    placeholder = await client.get(f"/partner/customers('{c}')/{reordered}", headers=headers)
    assert placeholder.json()["status"] == "Not Finished"
    for absent in ("jobs(jobType='Google Workspace',jobModule='Google Drive')",
                   "jobs(jobType='Nothing',jobModule='Gmail')"):  # fmt: skip
        missing = await client.get(f"/partner/Customers({c})/{absent}", headers=headers)
        assert "has no job" in odata_error(missing, 404)


async def test_a_malformed_key_is_400_and_another_segment_no_route(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    headers = await tenant.headers(client)
    for path in ("/partner/Customers(notaguid)", "/partner/Customers(notaguid)/jobs",
                 "/partner/Customers(1)/$count", f"/partner/Customers(x)/{JOB_KEY}"):  # fmt: skip
        assert "the key is customerId, a GUID" in odata_error(
            await client.get(path, headers=headers), 400
        ), path
    for key in ("jobs(jobType='Microsoft 365')", "jobs('Microsoft 365','Microsoft 365 Groups')"):
        bad = await client.get(f"/partner/Customers({c})/{key}", headers=headers)
        assert "the key is jobType and jobModule" in odata_error(bad, 400)
    for path in (f"/partner/Customers({c})/orders(1)", f"/partner/Customers({c})/jobsx"):
        assert odata_error(await client.get(path), 404) == "No resource at this path."


async def test_another_partners_or_an_unscoped_customer_is_like_none(client, db):
    tenant = await make_tenant(db, customers=2, app_customers=[0])
    other = await make_tenant(db)
    await enable(db, tenant.customers[1], 7, 304)
    await enable(db, other.customers[0], 7, 304)
    headers = await tenant.headers(client)
    for stranger in (tenant.customers[1], other.customers[0], uuid.uuid4()):
        for path in (f"/partner/Customers({stranger})/{JOB_KEY}",
                     f"/partner/Customers({stranger})/jobs/$count",
                     f"/partner/customers/{stranger}/jobs/$count"):  # fmt: skip
            answer = await client.get(path, headers=headers)
            assert odata_error(answer, 404) == f"Customer {stranger} was not found.", path
    assert (await client.get("/partner/Customers/$count", headers=headers)).text == "1"
    second = await add_app(db, tenant)
    everything = await client.get("/partner/customers/$count", headers=await second.headers(client))
    assert everything.text == "2"
