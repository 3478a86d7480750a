"""The history feed, ``/api/v1/odata``: an OData service over the job history, in-process
on SQLite and PostgreSQL."""

import base64
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from tests.api.odata_answers import odata_error
from tests.api.test_csdl_schemas import SCHEMAS
from tests.conftest import PUBLIC_URL
from tests.world import add_app, ingest, job, make_tenant

ROOT = "/api/v1/odata"
JOBS = f"{ROOT}/Jobs"


def started(day, hour=0):
    return f"2026-01-{day:02d}T{hour:02d}:00:00Z"


async def history_tenant(client, db, days=6):
    """Two customers; customer 0 has one job a day (Jan 1 to ``days``, status 2 then 3
    alternating), customer 1 one job on Jan 3; a job never started on Jan 2's evening."""
    tenant = await make_tenant(db, customers=2, names=["Alpha", "Beta"])
    a, b = tenant.customers
    records = [
        job(a, f"a-{day}", status=2 + day % 2, startTime=started(day), endTime=started(day, 1),
            lastModifyTime=started(day, 2), name=f"run {day}")
        for day in range(1, days + 1)
    ]  # fmt: skip
    records.append(job(b, "b-3", startTime=started(3, 5), endTime=started(3, 6),
                       lastModifyTime=started(3, 7), jobType=11, jobModule=501))  # fmt: skip
    records.append(job(a, "a-unstarted", status=5, startTime=None, endTime=None,
                       lastModifyTime=started(2, 20)))  # fmt: skip
    await ingest(client, tenant, records)
    return tenant


async def ids(client, headers, query="", **extra):
    response = await client.get(f"{JOBS}?{query}", headers={**headers, **extra})
    assert response.status_code == 200, response.text
    return [row["jobId"] for row in response.json()["value"]], response


async def test_every_job_newest_first_as_the_job_record(client, db):
    tenant = await history_tenant(client, db)
    headers = await tenant.headers(client)
    found, response = await ids(client, headers)
    assert found == ["a-6", "a-5", "a-4", "b-3", "a-3", "a-unstarted", "a-2", "a-1"]
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == f"{PUBLIC_URL}{ROOT}/$metadata#Jobs"
    first = body["value"][0]
    assert first == (await client.get("/api/v1/jobs?limit=1", headers=headers)).json()["items"][0]
    assert "@odata.nextLink" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Power BI's incremental refresh window: started jobs only.
        ("startTime ge 2026-01-02T00:00:00Z and startTime lt 2026-01-04T00:00:00Z",
         ["b-3", "a-3", "a-2"]),
        ("startTime ge 2026-01-05", ["a-6", "a-5"]),
        ("status eq 3 or customerName eq 'Beta'", ["a-5", "b-3", "a-3", "a-1"]),
        ("(status eq 3 or status eq 5) and customerName ne 'Beta'", ["a-5", "a-3", "a-unstarted", "a-1"]),
        ("statusName eq 'Failed' and startTime le 2026-01-03T00:00:00Z", ["a-3", "a-1"]),
        ("jobTypeName eq 'google workspace'", ["b-3"]),
        ("jobType eq 11 and jobModule eq 501", ["b-3"]),
        ("startTime eq null", ["a-unstarted"]),
        ("endTime gt 2026-01-05T00:00:00Z", ["a-6", "a-5"]),
        ("lastModifyTime lt 2026-01-02T00:00:00Z", ["a-1"]),
        ("name eq 'run 4' or jobId eq 'a-6'", ["a-6", "a-4"]),
        ("name ne 'run 4' and status ne 2", ["a-5", "a-3", "a-unstarted", "a-1"]),
    ],
)  # fmt: skip
async def test_filter(client, db, query, expected):
    tenant = await history_tenant(client, db)
    found, _ = await ids(client, await tenant.headers(client), f"$filter={query}")
    assert found == expected


async def test_filter_by_customer_id(client, db):
    tenant = await history_tenant(client, db)
    headers = await tenant.headers(client)
    b = tenant.customers[1]
    assert (await ids(client, headers, f"$filter=customerId eq {b}"))[0] == ["b-3"]
    assert (await ids(client, headers, f"$filter=customerId eq {uuid.uuid4()}"))[0] == []


async def test_select_orderby_top_skip_count(client, db):
    tenant = await history_tenant(client, db)
    headers = await tenant.headers(client)
    response = await client.get(f"{JOBS}?$select=jobId,status&$top=2", headers=headers)
    body = response.json()
    assert body["value"] == [{"jobId": "a-6", "status": 2}, {"jobId": "a-5", "status": 3}]
    assert body["@odata.context"] == f"{PUBLIC_URL}{ROOT}/$metadata#Jobs(jobId,status)"
    assert "@odata.nextLink" not in body  # $top is all it asked for
    oldest, _ = await ids(client, headers, "$orderby=startTime asc&$top=3")
    assert oldest == ["a-1", "a-2", "a-unstarted"]
    assert (await ids(client, headers, "$orderby=startTime asc,jobId asc&$skip=6"))[0] == [
        "a-5", "a-6",
    ]  # fmt: skip
    counted = (await client.get(f"{JOBS}?$count=true&$top=1&$filter=status eq 3",
                                headers=headers)).json()  # fmt: skip
    assert counted["@odata.count"] == 3 and len(counted["value"]) == 1


async def test_server_driven_paging_by_signed_skiptoken(client, db):
    tenant = await history_tenant(client, db)
    headers = {**await tenant.headers(client), "Prefer": "odata.maxpagesize=3"}
    url, pages = f"{JOBS}?$filter=startTime ge 2026-01-01&$top=5", []
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["preference-applied"] == "odata.maxpagesize=3"
        pages.append([row["jobId"] for row in response.json()["value"]])
        url = response.json().get("@odata.nextLink")
        if url:
            assert url.startswith(f"{PUBLIC_URL}{JOBS}?")
            query = parse_qs(urlsplit(url).query)
            assert query["$filter"] == ["startTime ge 2026-01-01"] and "$skiptoken" in query
            url = url.removeprefix(PUBLIC_URL)
    assert pages == [["a-6", "a-5", "a-4"], ["b-3", "a-3"]]
    # A token is bound to its filter and its app; an altered one is refused.
    first = (await client.get(f"{JOBS}", headers=headers)).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(first).query)["$skiptoken"][0]
    for query in (f"$skiptoken={token}&$filter=status eq 2", f"$skiptoken={token[:-2]}xx"):
        refused = await client.get(f"{JOBS}?{query}", headers=headers)
        assert "Invalid query option $skiptoken" in odata_error(refused, 400)
    other_app = await add_app(db, tenant)
    stolen = await client.get(f"{JOBS}?$skiptoken={token}", headers=await other_app.headers(client))
    assert "$skiptoken" in odata_error(stolen, 400)


@pytest.mark.parametrize(
    ("query", "status", "said"),
    [
        ("$filter=contains(name,'x')", 501, "not implemented"),
        ("$orderby=name", 501, "Ordering by 'name' is not implemented"),
        ("$expand=customer", 501, "$expand is not implemented"),
        ("$search=x", 501, "$search is not implemented"),
        ("$select=nope", 400, "'nope' is not a property of Job"),
        ("$filter=status eq", 400, "Invalid query option $filter"),
        ("$filter=statusName eq 'Sucess'", 400, "unknown status 'Sucess'"),
        ("$top=-1", 400, "$top"),
    ],
)
async def test_what_it_does_not_take_is_refused_naming_it(client, db, query, status, said):
    tenant = await make_tenant(db)
    response = await client.get(f"{JOBS}?{query}", headers=await tenant.headers(client))
    assert said in odata_error(response, status)


async def test_tenant_scoped_and_permission_as_the_history(client, db):
    tenant = await history_tenant(client, db)
    other = await make_tenant(db)
    await ingest(client, other, [job(other.customers[0], "other-1")])
    scoped = await add_app(db, tenant, app_customers=[1])
    assert (await ids(client, await scoped.headers(client)))[0] == ["b-3"]
    a = tenant.customers[0]
    assert (await ids(client, await scoped.headers(client), f"$filter=customerId eq {a}"))[0] == []
    assert (await ids(client, await other.headers(client)))[0] == ["other-1"]
    v3_only = await tenant.headers(client, "elements.jobs.read.all")
    assert len((await ids(client, v3_only))[0]) == 8
    customers_only = await tenant.headers(client, "partner.customers.read.all")
    assert "lacks the permission" in odata_error(
        await client.get(JOBS, headers=customers_only), 403
    )
    assert odata_error(await client.get(JOBS), 401)
    basic = base64.b64encode(f"{tenant.client_id}:{tenant.secret}".encode()).decode()
    assert len((await ids(client, {"Authorization": f"Basic {basic}"}))[0]) == 8


async def test_service_document_and_valid_metadata(client):
    root = await client.get(f"{ROOT}/")
    assert root.status_code == 200 and root.headers["odata-version"] == "4.0"
    assert root.json() == {
        "@odata.context": f"{PUBLIC_URL}{ROOT}/$metadata",
        "value": [
            {"name": name, "kind": "EntitySet", "url": name}
            for name in ("Jobs", "Customers", "DailyOutcomes")
        ],
    }
    metadata = await client.get(f"{ROOT}/$metadata")
    assert metadata.headers["content-type"] == "application/xml"
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd")))
    schema.assertValid(etree.fromstring(metadata.content))
    assert b'<EntitySet Name="Jobs" EntityType="Backupjobs.History.Job"/>' in metadata.content
