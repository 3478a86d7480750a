"""The Modern API family (SPEC section 5, seed 001), in-process on SQLite and PostgreSQL."""

import json
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec
import pytest

from backupjobs.api.odata import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.store import directory
from backupjobs.wire import ModernCustomerRow, ModernJobRow
from tests.api.odata_answers import odata_error
from tests.conftest import PUBLIC_URL
from tests.world import SEED_CUSTOMER, add_app, enable, ingest, job, make_tenant, now

SEED = Path(__file__).resolve().parents[1] / "seeds" / "001_91fa0af0a3e5788d.txt"
VENDOR_URL = "https://graph.avepointonlineservices.com"
JOBS_CONTEXT = f"{PUBLIC_URL}/partner/$metadata#Collection(Portal.Api.Model.BackUpJob)"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
MODERN_READ = "partner.jobs.read.all partner.customers.read.all"
V3_READ = "elements.jobs.read.all elements.customers.read.all"


def seed_samples():
    """The seed's request URL and its response sample (comments stripped)."""
    request, response = re.findall(r"```json\s*\n(.*?)```", SEED.read_text(), re.S)
    response = re.sub(r"\s+//[^\n]*", "", response)  # comments, not the "https://"
    return request.strip(), json.loads(response)


def service_path(customer, job_type, job_module):
    return f"/partner/customers/{customer}/jobs/jobType/{job_type}/jobModule/{job_module}"


def seed_record(customer):
    """The v3 seed's job: Failed, no name, zero size, sub-second times (17m39s)."""
    return job(
        customer, "FB20250911032116214502", status=3, name=None, backupSizeBytes=0,
        startTime="2025-09-11T03:21:16.8Z", endTime="2025-09-11T03:38:56.2Z",
    )  # fmt: skip


SEED_JOB_ROW = {
    "jobType": "Microsoft 365", "jobModule": "Microsoft 365 Groups", "status": "Failed",
    "jobId": "FB20250911032116214502", "name": "N/A", "totalCount": "2323", "failedCount": "0",
    "successfulCount": "2323", "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
    "startTime": "2025-09-11T03:21:16Z", "endTime": "2025-09-11T03:38:56Z",
    "jobDuration": "17m39s", "lastModifyTime": "2025-09-11T03:38:57Z",
}  # fmt: skip


async def follow(client, url, headers):
    """Every page of a feed, following @odata.nextLink to the end."""
    pages = []
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = pages[-1].get("@odata.nextLink")
    return pages


# --- the seed's endpoint ---------------------------------------------------------------


async def test_the_seed_request_is_answered_with_the_seed_response(client, db):
    request_url, expected = seed_samples()
    assert SEED_CUSTOMER in request_url and " " in request_url  # literal spaces, as in the seed
    tenant = await make_tenant(db, customers=1, customer_ids=[uuid.UUID(SEED_CUSTOMER)])
    await enable(db, tenant.customers[0], 7, 302)
    response = await client.get(
        request_url.removeprefix(VENDOR_URL), headers=await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    expected["@odata.context"] = expected["@odata.context"].replace(VENDOR_URL, PUBLIC_URL)
    assert body == expected
    assert list(body) == ["@odata.context", "value"]
    assert list(body["value"][0]) == list(expected["value"][0])


async def test_a_service_with_jobs_answers_its_latest_job_with_names(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    older = job(c, "older", startTime="2025-09-01T03:00:00Z", lastModifyTime="2025-09-01T04:00:00Z")
    await ingest(client, tenant, [older, seed_record(c), job(c, "other", jobModule=302)])
    response = await client.get(
        service_path(c, "Microsoft 365", "Microsoft 365 Groups"),
        headers=await tenant.headers(client),
    )
    body = response.json()
    assert body == {"@odata.context": JOBS_CONTEXT, "value": [SEED_JOB_ROW]}
    assert list(body["value"][0]) == list(SEED_JOB_ROW)
    assert all(isinstance(value, str) for value in body["value"][0].values())


@pytest.mark.parametrize(
    "spelling",
    [
        "Microsoft%20365/jobModule/SharePoint%20Online",
        "microsoft%20365/jobModule/sharepoint%20online",
        "MICROSOFT%20365/jobModule/SHAREPOINT%20ONLINE",
        "Microsoft+365/jobModule/SharePoint+Online",
        "Microsoft%2520365/jobModule/SharePoint%2520Online",
        "%4Dicrosoft%20365/jobModule/SharePoint%20%20Online",
        "7/jobModule/302",
        "7/jobModule/SharePoint%20Online",
        "Microsoft%20365/jobModule/302",
    ],
)
async def test_names_in_any_case_and_encoding_or_codes(client, db, spelling):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "sp", jobModule=302), job(c, "groups")])
    response = await client.get(
        f"/partner/customers/{c}/jobs/jobType/{spelling}", headers=await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["value"]
    assert (row["jobType"], row["jobModule"], row["jobId"]) == (
        "Microsoft 365",
        "SharePoint Online",
        "sp",
    )


@pytest.mark.parametrize(
    ("spelling", "named"),
    [
        (
            "Microsoft%20366/jobModule/SharePoint%20Online",
            "JobType: unknown jobType 'Microsoft 366'",
        ),
        ("7/jobModule/SharePoint%20Offline", "JobModule: unknown jobModule 'SharePoint Offline'"),
        ("99/jobModule/302", "unknown jobType 99"),
        ("7/jobModule/9999", "unknown jobModule 9999"),
        ("-1/jobModule/302", "unknown jobType -1"),
        ("Microsoft%20365/jobModule/Gmail%3F", "unknown jobModule 'Gmail?'"),
    ],
)
async def test_unknown_names_and_codes_are_400_naming_them(client, db, spelling, named):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await enable(db, c, 7, 302)
    for customer in (c, uuid.uuid4()):  # checked before the customer is looked up
        response = await client.get(
            f"/partner/customers/{customer}/jobs/jobType/{spelling}",
            headers=await tenant.headers(client),
        )
        assert named in odata_error(response, 400)


async def test_a_misspelled_name_is_told_the_closest_names_and_where_all_are(client, db):
    tenant = await make_tenant(db)
    response = await client.get(
        f"/partner/customers/{tenant.customers[0]}/jobs/jobType/Microsoft%20365/jobModule/Sharepoint",
        headers=await tenant.headers(client),
    )
    assert odata_error(response, 400) == (
        "Invalid path parameter JobModule: unknown jobModule 'Sharepoint': did you mean "
        '"SharePoint Online"? (all names: docs/codes.md).'
    )


async def test_a_service_without_any_record_answers_the_placeholder(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "groups")])
    headers = await tenant.headers(client)
    response = await client.get(service_path(c, "Google Workspace", "Gmail"), headers=headers)
    row = response.json()["value"][0]
    assert (row["jobType"], row["jobModule"], row["status"], row["jobId"]) == (
        "Google Workspace",
        "Gmail",
        "Not Finished",
        "N/A",
    )
    counted = await client.get(
        service_path(c, "11", "501") + "?$count=true&$skip=1", headers=headers
    )
    assert counted.json()["@odata.count"] == 1 and counted.json()["value"] == []


# --- the family ------------------------------------------------------------------------


async def test_customer_jobs_are_every_service_ordered_by_type_then_module(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await ingest(client, tenant, [
        seed_record(c), job(c, "gmail", jobType=11, jobModule=501, status=4),
        job(c, "scan", jobType=0, jobModule=0, status=1, endTime=None),
    ])  # fmt: skip
    await enable(db, c, 7, 302)
    body = (await client.get(f"/partner/customers/{c}/jobs",
                             headers=await tenant.headers(client))).json()  # fmt: skip
    assert body["@odata.context"] == JOBS_CONTEXT
    assert [(r["jobType"], r["jobModule"], r["status"]) for r in body["value"]] == [
        ("Microsoft 365 Scan", "None", "Running"),
        ("Microsoft 365", "SharePoint Online", "Not Finished"),
        ("Microsoft 365", "Microsoft 365 Groups", "Failed"),
        ("Google Workspace", "Gmail", "Finished with exception"),
    ]
    assert body["value"][2] == SEED_JOB_ROW
    assert all(isinstance(v, str) for row in body["value"] for v in row.values())
    assert "@odata.nextLink" not in body and "@odata.count" not in body


async def test_customers_and_one_customer(client, db):
    ids = sorted(uuid.uuid4() for _ in range(3))
    tenant = await make_tenant(db, customers=3, names=["Zeta", "Alpha", "Mid"], customer_ids=ids)
    headers = await tenant.headers(client)
    body = (await client.get("/partner/customers", headers=headers)).json()
    assert list(body) == ["@odata.context", "value"]
    assert body["@odata.context"] == f"{PUBLIC_URL}/partner/$metadata#Customers"
    assert [(r["organization"], r["id"]) for r in body["value"]] == [
        ("Alpha", str(ids[1])), ("Mid", str(ids[2])), ("Zeta", str(ids[0])),
    ]  # fmt: skip
    first = body["value"][0]
    assert first == {"id": str(ids[1]), "organization": "Alpha", "ownerEmail": "",
                     "jobStatus": "N/A", "countryOrRegion": ""}  # fmt: skip

    one = await client.get(f"/partner/customers/{ids[1]}", headers=headers)
    assert one.status_code == 200
    assert one.json() == {
        "@odata.context": f"{PUBLIC_URL}/partner/$metadata#Customers/$entity",
        **first,
    }
    assert next(iter(one.json())) == "@odata.context"


async def test_context_comes_from_the_public_url_not_the_request_host(client, db):
    tenant = await make_tenant(db)
    headers = {**await tenant.headers(client), "Host": "attacker.example",
               "X-Forwarded-Host": "attacker.example", "Prefer": "odata.maxpagesize=1"}  # fmt: skip
    body = (await client.get("/partner/customers", headers=headers)).json()
    assert body["@odata.context"].startswith(f"{PUBLIC_URL}/partner/$metadata#")
    assert body["@odata.nextLink"].startswith(f"{PUBLIC_URL}/partner/customers?")


async def test_customer_id_in_any_case_and_a_malformed_one(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    upper = str(tenant.customers[0]).upper()
    for path in (f"/partner/customers/{upper}", f"/partner/customers/{upper}/jobs"):
        assert (await client.get(path, headers=headers)).status_code == 200
    response = await client.get("/partner/customers/not-a-uuid/jobs", headers=headers)
    assert odata_error(response, 404) == "Customer not-a-uuid was not found."


# --- paging ----------------------------------------------------------------------------


async def test_default_page_size_and_next_links_to_the_end(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    services = [(t.code, m.code) for t in JOB_TYPES for m in JOB_MODULES][: DEFAULT_PAGE_SIZE + 5]
    async with db.write() as connection:
        for job_type, job_module in services:
            await directory.enable_service(connection, c, job_type, job_module, now=now())
    pages = await follow(client, f"/partner/customers/{c}/jobs?$count=true",
                         await tenant.headers(client))  # fmt: skip
    assert [len(p["value"]) for p in pages] == [DEFAULT_PAGE_SIZE, 5]
    assert [p["@odata.count"] for p in pages] == [len(services)] * 2
    assert list(pages[0])[:4] == ["@odata.context", "@odata.count", "@odata.nextLink", "value"]
    assert pages[0]["@odata.nextLink"] == (
        f"{PUBLIC_URL}/partner/customers/{c}/jobs?$count=true&$skip={DEFAULT_PAGE_SIZE}"
    )
    names = [(r["jobType"], r["jobModule"]) for p in pages for r in p["value"]]
    expected = [(JOB_TYPES.require(t).display, JOB_MODULES.require(m).display)
                for t, m in sorted(services)]  # fmt: skip
    assert names == expected


async def test_top_limits_the_result_and_skip_moves_it(client, db):
    tenant = await make_tenant(db, customers=5, names=["a", "b", "c", "d", "e"])
    headers = await tenant.headers(client)

    async def names(query):
        response = await client.get(f"/partner/customers?{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [r["organization"] for r in body["value"]], body.get("@odata.nextLink")

    # $top is how many rows in all: no next link leads past it (OData 4.01 11.2.6.3).
    assert await names("$top=2&$count=true") == (["a", "b"], None)
    assert await names("$skip=1&$top=1") == (["b"], None)
    assert await names("$skip=3") == (["d", "e"], None)
    assert await names("$top=0") == ([], None)
    assert await names("$skip=5") == ([], None)
    assert await names("$skip=99999999999999999999999") == ([], None)
    assert await names(f"$top={MAX_PAGE_SIZE + 1}&$count=false") == (list("abcde"), None)
    assert await names("$top=99999999999999999999999") == (list("abcde"), None)
    assert await names("$TOP=1&$Skip=4") == (["e"], None)  # names in any case, as OData 4.01
    zero = (await client.get("/partner/customers?$top=0&$count=true", headers=headers)).json()
    assert zero["@odata.count"] == 5 and zero["value"] == []


async def test_server_driven_paging_follows_prefer_maxpagesize_within_top(client, db):
    tenant = await make_tenant(db, customers=5, names=["a", "b", "c", "d", "e"])
    headers = {**await tenant.headers(client), "Prefer": "odata.maxpagesize=2"}
    first = await client.get("/partner/customers?$count=true&tag=x%20y", headers=headers)
    assert first.headers["preference-applied"] == "odata.maxpagesize=2"
    assert first.headers["content-type"] == "application/json; odata.metadata=minimal"
    pages = await follow(client, "/partner/customers?$count=true&tag=x%20y", headers)
    assert [[r["organization"] for r in p["value"]] for p in pages] == [
        ["a", "b"], ["c", "d"], ["e"],
    ]  # fmt: skip
    assert [p["@odata.count"] for p in pages] == [5, 5, 5]
    assert pages[0]["@odata.nextLink"] == (
        f"{PUBLIC_URL}/partner/customers?$count=true&tag=x%20y&$skip=2"
    )
    assert "@odata.nextLink" not in pages[-1]
    # With $top as well: pages of 2 until 3 rows in all, the last part without a link.
    limited = await follow(client, "/partner/customers?$top=3", headers)
    assert [[r["organization"] for r in p["value"]] for p in limited] == [["a", "b"], ["c"]]
    assert limited[0]["@odata.nextLink"] == f"{PUBLIC_URL}/partner/customers?$top=1&$skip=2"
    # A preference it cannot use as such is ignored (RFC 7240), a huge one is capped.
    for prefer in ("odata.maxpagesize=0", "odata.maxpagesize=x", "respond-async"):
        answer = await client.get("/partner/customers", headers={**headers, "Prefer": prefer})
        assert answer.status_code == 200 and "preference-applied" not in answer.headers
        assert len(answer.json()["value"]) == 5
    big = await client.get(
        "/partner/customers", headers={**headers, "Prefer": "odata.maxpagesize=99999"}
    )
    assert big.headers["preference-applied"] == f"odata.maxpagesize={MAX_PAGE_SIZE}"


async def test_job_feeds_page_by_maxpagesize_and_count_segments_are_text(client, db):
    tenant = await make_tenant(db, customers=2)
    c = tenant.customers[0]
    services = [(t.code, m.code) for t in JOB_TYPES for m in JOB_MODULES][:7]
    async with db.write() as connection:
        for job_type, job_module in services:
            await directory.enable_service(connection, c, job_type, job_module, now=now())
    headers = {**await tenant.headers(client), "Prefer": "odata.maxpagesize=3"}
    for path in (f"/partner/customers/{c}/jobs", f"/partner/Customers({c})/jobs"):
        pages = await follow(client, path, headers)
        assert [len(p["value"]) for p in pages] == [3, 3, 1]
        assert len(await follow(client, f"{path}?$top=4", headers)) == 2
        counted = await client.get(f"{path}/$count", headers=headers)
        assert counted.status_code == 200, counted.text
        assert counted.headers["content-type"].startswith("text/plain")
        assert counted.headers["odata-version"] == "4.0"
        assert counted.text == "7"
    for path in ("/partner/customers/$count", "/partner/Customers/$count"):
        counted = await client.get(path, headers=headers)
        assert (counted.status_code, counted.text) == (200, "2")
        assert counted.headers["content-type"].startswith("text/plain")
    other = tenant.customers[1]
    assert (
        await client.get(f"/partner/Customers({other})/jobs/$count", headers=headers)
    ).text == "0"
    for stranger in (uuid.uuid4(), (await make_tenant(db)).customers[0]):
        for path in (f"/partner/customers/{stranger}/jobs/$count",
                     f"/partner/Customers({stranger})/jobs/$count"):  # fmt: skip
            missing = await client.get(path, headers=headers)
            assert odata_error(missing, 404) == f"Customer {stranger} was not found."
    entity = await client.get(f"/partner/Customers({c})/$count", headers=headers)
    assert "not a collection" in odata_error(entity, 400)


async def test_paging_the_service_endpoint(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    await enable(db, c, 7, 302)
    path = service_path(c, "7", "302")
    headers = await tenant.headers(client)
    body = (await client.get(f"{path}?$count=true&$top=1", headers=headers)).json()
    assert body["@odata.count"] == 1 and len(body["value"]) == 1 and "@odata.nextLink" not in body
    assert (await client.get(f"{path}?$skip=1", headers=headers)).json()["value"] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("$top=-1", "$top: '-1'"),
        ("$top=abc", "$top: 'abc'"),
        ("$top=1.5", "$top: '1.5'"),
        ("$top=", "$top: ''"),
        ("$top=%2B1", "$top: '+1'"),
        ("$skip=-3", "$skip: '-3'"),
        ("$skip=x", "$skip: 'x'"),
        ("$count=yes", "$count: 'yes' is not true or false"),
        ("$count=1", "$count: '1'"),
        ("$nonsense=1", "$nonsense is not an OData query option"),
        ("@alias=1", "@alias is not an OData query option"),
        ("$top=1&$top=2", "$top is given more than once"),
        ("$top=1&$TOP=1", "$TOP is given more than once"),
    ],
)
@pytest.mark.parametrize("collection", ["/partner/customers", "/partner/customers/{c}/jobs"])
async def test_bad_options_are_400_naming_them(client, db, query, named, collection):
    tenant = await make_tenant(db)
    response = await client.get(
        f"{collection.format(c=tenant.customers[0])}?{query}", headers=await tenant.headers(client)
    )
    assert named in odata_error(response, 400)
    assert response.json()["error"]["target"].lower() == query.partition("=")[0].lower()


@pytest.mark.parametrize(
    "query",
    ["$filter=status%20eq%20'Failed'", "$orderby=name", "$select=name", "$expand=jobs",
     "$search=x", "$skiptoken=abc", "$apply=aggregate", "$compute=x"],
)  # fmt: skip
@pytest.mark.parametrize("collection", ["/partner/customers", "/partner/customers/{c}/jobs"])
async def test_unsupported_system_options_are_501_naming_them(client, db, query, collection):
    tenant = await make_tenant(db)
    response = await client.get(
        f"{collection.format(c=tenant.customers[0])}?{query}", headers=await tenant.headers(client)
    )
    option = query.partition("=")[0]
    message = odata_error(response, 501)
    assert message.startswith(f"The query option {option} is not implemented on this resource")
    assert "supported: $top, $skip, $count, $format" in message


async def test_single_resources_take_no_system_options_but_format(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    c = tenant.customers[0]
    response = await client.get(f"/partner/customers/{c}?$top=1", headers=headers)
    assert "not implemented on this resource; supported: $format" in odata_error(response, 501)
    for path in (f"/partner/customers/{c}", "/partner", "/partner/customers", "/partner/$count"):
        for value in ("json", "application/json", "application/json;odata.metadata=minimal"):
            if path == "/partner/$count":
                continue
            answer = await client.get(f"{path}?$format={value}", headers=headers)
            assert answer.status_code == 200, (path, value, answer.text)
    metadata = await client.get("/partner/$metadata?$format=json")
    assert "served as application/xml" in odata_error(metadata, 406)
    assert (await client.get("/partner/$metadata?$format=xml")).status_code == 200
    custom = await client.get(f"/partner/customers/{c}?source=script", headers=headers)
    assert custom.status_code == 200


# --- permissions -----------------------------------------------------------------------


def modern_endpoints(customer):
    """Every Modern endpoint that needs a token, with the permission it needs."""
    return [
        (service_path(customer, "Microsoft 365", "SharePoint Online"), "partner.jobs.read.all"),
        (f"/partner/customers/{customer}/jobs", "partner.jobs.read.all"),
        (f"/partner/Customers({customer})/jobs", "partner.jobs.read.all"),
        ("/partner/customers", "partner.customers.read.all"),
        (f"/partner/customers/{customer}", "partner.customers.read.all"),
        (f"/partner/Customers({customer})", "partner.customers.read.all"),
        ("/partner/Customers", "partner.customers.read.all"),
    ]


async def test_every_modern_endpoint_needs_its_own_permission(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    for path, permission in modern_endpoints(c):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        others = " ".join(sorted(set(f"{MODERN_READ} {V3_READ}".split()) - {permission}))
        for scope in (V3_READ, others):  # v3 permissions, or the other Modern one
            response = await client.get(path, headers=await tenant.headers(client, scope))
            assert response.status_code == 403, (path, scope)
            assert f'scope="{permission}"' in response.headers["www-authenticate"]
            odata_error(response, 403)
        allowed = await client.get(path, headers=await tenant.headers(client, permission))
        assert allowed.status_code == 200, (path, allowed.text)


async def test_modern_permissions_do_not_open_v3(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client, MODERN_READ)
    for path in (
        f"/partner/external/v3/general/customers/{tenant.customers[0]}/jobs",
        f"/partner/external/v3/general/customers/{tenant.customers[0]}/avpt-products/jobs/batch",
        "/partner/external/v3/general/customers/batch",
    ):
        response = await client.post(path, headers=headers)
        assert response.status_code == 403, path
        assert "elements." in response.headers["www-authenticate"]


# --- isolation -------------------------------------------------------------------------


@pytest.fixture
async def setting(client, db):
    """Partner A (an app for all customers, one scoped to customer 0) and partner B."""
    a = await make_tenant(db, customers=2)
    scoped = await add_app(db, a, app_customers=[0])
    b = await make_tenant(db, customers=1)
    for tenant in (a, b):
        await ingest(client, tenant, [job(c, f"job-{c}", jobModule=302) for c in tenant.customers])
    return a, scoped, b


def normalized(response, customer):
    return response.status_code, response.text.replace(str(customer), "<id>")


async def test_foreign_out_of_scope_and_missing_customers_look_alike(client, setting):
    a, scoped, b = setting
    headers = await scoped.headers(client)
    for path, _ in modern_endpoints("{c}"):
        if "{c}" not in path:
            continue
        mine = await client.get(path.format(c=a.customers[0]), headers=headers)
        assert mine.status_code == 200, path
        answers = {
            name: normalized(await client.get(path.format(c=customer), headers=headers), customer)
            for name, customer in {
                "other partner": b.customers[0],
                "outside app scope": a.customers[1],
                "nonexistent": uuid.uuid4(),
            }.items()
        }
        assert answers["other partner"][0] == 404, path
        assert answers["other partner"] == answers["outside app scope"] == answers["nonexistent"]


async def test_customer_feed_holds_only_the_apps_customers(client, setting):
    a, scoped, b = setting
    listed = (await client.get("/partner/customers?$count=true",
                               headers=await scoped.headers(client))).json()  # fmt: skip
    assert [r["id"] for r in listed["value"]] == [str(a.customers[0])]
    assert listed["@odata.count"] == 1
    everything = (await client.get("/partner/customers", headers=await a.headers(client))).json()
    assert {r["id"] for r in everything["value"]} == {str(c) for c in a.customers}
    assert str(b.customers[0]) not in json.dumps(everything)


# --- OData service: $metadata, service document, key addressing ------------------------


async def test_metadata_is_a_csdl_document_of_the_feeds(client):
    response = await client.get("/partner/$metadata")  # no token: it holds no tenant data
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["odata-version"] == "4.0"
    root = ET.fromstring(response.content)
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "4.0"
    [schema] = root.iter(f"{EDM}Schema")
    assert schema.get("Namespace") == "Portal.Api.Model"
    types = {t.get("Name"): t for t in schema.iter(f"{EDM}EntityType")}
    for name, row in (("BackUpJob", ModernJobRow), ("Customer", ModernCustomerRow)):
        properties = [p.get("Name") for p in types[name].iter(f"{EDM}Property")]
        assert properties == [f.encode_name for f in msgspec.structs.fields(row)]
        for key in types[name].iter(f"{EDM}PropertyRef"):
            assert key.get("Name") in properties
    assert all(p.get("Type") == "Edm.String" for p in types["BackUpJob"].iter(f"{EDM}Property"))
    [navigation] = types["Customer"].iter(f"{EDM}NavigationProperty")
    assert navigation.attrib == {
        "Name": "jobs", "Type": "Collection(Portal.Api.Model.BackUpJob)", "ContainsTarget": "true",
    }  # fmt: skip
    [entity_set] = schema.iter(f"{EDM}EntitySet")
    assert (entity_set.get("Name"), entity_set.get("EntityType")) == (
        "Customers",
        "Portal.Api.Model.Customer",
    )


async def test_metadata_ignores_a_token_as_power_bi_sends_one(client, db):
    tenant = await make_tenant(db)
    for headers in (await tenant.headers(client), {"Authorization": "Bearer garbage"}):
        response = await client.get("/partner/$metadata", headers=headers)
        assert response.status_code == 200


async def test_every_context_names_something_the_metadata_declares(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    schema = ET.fromstring((await client.get("/partner/$metadata")).content)
    declared_types = {f"Portal.Api.Model.{t.get('Name')}" for t in schema.iter(f"{EDM}EntityType")}
    declared_sets = {s.get("Name") for s in schema.iter(f"{EDM}EntitySet")}
    c = tenant.customers[0]
    for path, _ in modern_endpoints(c):
        context = (await client.get(path, headers=headers)).json()["@odata.context"]
        base, _, fragment = context.partition("#")
        assert base == f"{PUBLIC_URL}/partner/$metadata"
        if fragment.startswith("Collection("):
            assert fragment.removeprefix("Collection(").removesuffix(")") in declared_types
        else:
            assert fragment.removesuffix("/$entity") in declared_sets


async def test_service_document_lists_the_entity_sets(client):
    for path in ("/partner", "/partner/"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "@odata.context": f"{PUBLIC_URL}/partner/$metadata",
            "value": [{"name": "Customers", "kind": "EntitySet", "url": "Customers"}],
        }


@pytest.mark.parametrize(
    "segment",
    [
        "Customers({c})",
        "customers('{c}')",
        "CUSTOMERS(id={c})",
        "Customers(id='{c}')",
    ],
)
async def test_customers_are_addressable_as_odata_clients_build_urls(client, db, segment):
    tenant = await make_tenant(db, customers=2)
    c = tenant.customers[0]
    await ingest(client, tenant, [job(c, "groups")])
    headers = await tenant.headers(client)
    segment = segment.format(c=c)
    for alias, canonical in (
        ("/partner/Customers?$top=1&$count=true", "/partner/customers?$top=1&$count=true"),
        (f"/partner/{segment}", f"/partner/customers/{c}"),
        (f"/partner/{segment}/jobs", f"/partner/customers/{c}/jobs"),
    ):
        response = await client.get(alias, headers=headers)
        assert response.status_code == 200, response.text
        expected = (await client.get(canonical, headers=headers)).json()
        if "@odata.nextLink" in expected:  # the link repeats the path it was asked on
            expected["@odata.nextLink"] = expected["@odata.nextLink"].replace(
                "customers", "Customers"
            )
        assert response.json() == expected


async def test_other_segments_under_the_service_root_are_unknown_paths(client):
    nowhere = await client.get("/nowhere")
    for path in ("/partner/nothing", "/partner/customers(", "/partner/Customers/jobs",
                 "/partner/orders(1)/jobs", "/partner/Customers(1)(2)"):  # fmt: skip
        response = await client.get(path)  # no token: an unknown path is not a protected one
        assert odata_error(response, 404) == nowhere.json()["detail"], path


async def test_openapi_documents_every_modern_endpoint_with_its_errors(client):
    paths = (await client.get("/docs/openapi.json")).json()["paths"]
    collections = [
        "/partner/customers/{customer_id}/jobs/jobType/{job_type}/jobModule/{job_module}",
        "/partner/customers/{customer_id}/jobs",
        "/partner/customers",
    ]
    for path in [*collections, "/partner/customers/{customer_id}"]:
        operation = paths[path]["get"]
        assert {"400", "401", "403"} <= set(operation["responses"]), path
        assert "application/json" in operation["responses"]["401"]["content"]
        assert operation["security"] == [{"bearer": []}]
    for path in collections:
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"$top", "$skip", "$count"} <= names
    assert "404" in paths["/partner/customers/{customer_id}/jobs"]["get"]["responses"]
    assert "application/xml" in paths["/partner/$metadata"]["get"]["responses"]["200"]["content"]
    assert "/partner" in paths
    assert not any("segment" in path for path in paths)


async def test_an_options_request_for_the_customers_needs_no_token(client):
    for path in ("/partner/customers", "/partner/customers/$count", "/partner/customers/x"):
        answer = await client.options(path)
        assert answer.status_code == 204, (path, answer.text)
