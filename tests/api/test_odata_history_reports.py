"""The history feed's report sets, ``Customers`` and ``DailyOutcomes``: the reports'
answers as OData entity sets, in-process on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from backupjobs.catalog import STATUSES
from tests.api.odata_answers import odata_error
from tests.api.reports import make_world
from tests.api.test_csdl_schemas import SCHEMAS
from tests.conftest import PUBLIC_URL
from tests.world import add_app

ROOT = "/api/v1/odata"
CUSTOMERS = f"{ROOT}/Customers"
DAILY = f"{ROOT}/DailyOutcomes"
#: The properties a customer shares with its entry in /api/v1/summary.
SUMMARY_FIELDS = (
    "customerId", "customerName", "jobStatus", "jobStatusName", "failingServices",
    "staleServices", "backupSizeBytes", "lastSuccessTime",
)  # fmt: skip


def status_property(display):
    return "jobs" + "".join(word.capitalize() for word in display.split())


@pytest.fixture
async def world(client, db):
    return await make_world(client, db)


async def read_all(client, url, headers):
    """Every row of a set, following nextLink; and the pages' sizes."""
    rows, sizes = [], []
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["odata-version"] == "4.0"
        body = response.json()
        rows += body["value"]
        sizes.append(len(body["value"]))
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith(f"{PUBLIC_URL}{ROOT}/") and "$skiptoken" in parse_qs(
                urlsplit(url).query
            )
            url = url.removeprefix(PUBLIC_URL)
    return rows, sizes


async def test_customers_are_the_summary_customers(client, world):
    headers = await world.a.headers(client)
    summary = (await client.get("/api/v1/summary?limit=1000", headers=headers)).json()
    response = await client.get(CUSTOMERS, headers=headers)
    assert response.status_code == 200 and response.headers["odata-version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == f"{PUBLIC_URL}{ROOT}/$metadata#Customers"
    expected = sorted(
        ({name: c[name] for name in SUMMARY_FIELDS} for c in summary["customers"]),
        key=lambda c: uuid.UUID(c["customerId"]),
    )
    assert [{name: c[name] for name in SUMMARY_FIELDS} for c in body["value"]] == expected
    by_name = {c["customerName"]: c for c in body["value"]}
    assert by_name["Alpha"]["services"] == 2 and by_name["Alpha"]["jobStatusName"] == "Failed"
    assert by_name["Bravo"]["jobStatus"] == 4 and by_name["Bravo"]["staleServices"] == 1
    assert set(by_name) == {"Alpha", "Bravo", "Charlie"}  # not partner B's


async def test_daily_outcomes_are_the_daily_report(client, world):
    headers = await world.a.headers(client)
    today = datetime.now(UTC).date()
    first, past = today - timedelta(days=5), today + timedelta(days=1)
    for tz in ("Europe/Berlin", "Asia/Tokyo", None):
        params = {"from": first.isoformat(), "to": past.isoformat(), "limit": 1000}
        odata = {"$filter": f"date ge {first} and date lt {past}"}
        if tz:
            params["tz"] = odata["tz"] = tz
        report = (await client.get("/api/v1/daily", params=params, headers=headers)).json()
        assert report["nextCursor"] is None
        expected = [
            {
                "customerId": item["customerId"],
                "date": item["date"],
                "jobs": item["jobs"],
                "backupSizeBytes": item["backupSizeBytes"],
                "durationSeconds": item["durationSeconds"],
                **{
                    status_property(s.display): item["byStatus"].get(s.display, 0) for s in STATUSES
                },
            }
            for item in report["items"]
        ]
        response = await client.get(DAILY, params=odata, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["value"] == expected
        assert len(expected) == 3 * 6 and sum(row["jobs"] for row in expected) > 0
    # Without a date bound: the last 7 days up to today, as /api/v1/daily.
    default = (await client.get(DAILY, headers=headers)).json()["value"]
    report = (await client.get("/api/v1/daily?limit=1000", headers=headers)).json()["items"]
    assert [(r["customerId"], r["date"], r["jobs"]) for r in default] == [
        (r["customerId"], r["date"], r["jobs"]) for r in report
    ]


async def test_paging_through_a_whole_set_has_no_gap_and_no_duplicate(client, world):
    headers = await world.a.headers(client)
    today = datetime.now(UTC).date()
    window = f"date ge {today - timedelta(days=9)} and date le {today}"
    for url, size, key in (
        (CUSTOMERS, 2, ("customerId",)),
        (f"{DAILY}?$filter={window}", 7, ("customerId", "date")),
        (f"{DAILY}?$filter=({window}) and jobs gt 0", 2, ("customerId", "date")),
        (f"{DAILY}?$filter={window}&$top=25&$skip=3", 4, ("customerId", "date")),
    ):
        whole, sizes = await read_all(client, url, headers)
        paged, sizes = await read_all(
            client, url, {**headers, "Prefer": f"odata.maxpagesize={size}"}
        )
        assert paged == whole and len(sizes) > 1 and max(sizes) == size
        counted = f"{url}{'&' if '?' in url else '?'}$count=true"
        link = (
            await client.get(counted, headers={**headers, "Prefer": f"odata.maxpagesize={size}"})
        ).json()
        later = (
            await client.get(link["@odata.nextLink"].removeprefix(PUBLIC_URL), headers=headers)
        ).json()
        # $count is every matching row, whatever $top and $skip, on every page.
        everything = len(whole) if "$top" not in url else 3 * 10
        assert link["@odata.count"] == later["@odata.count"] == everything
        keys = [tuple(row[name] for name in key) for row in paged]
        assert len(set(keys)) == len(keys) and keys == sorted(
            keys, key=lambda k: (uuid.UUID(k[0]), *k[1:])
        )
    days, _ = await read_all(client, f"{DAILY}?$filter={window}&$top=25&$skip=3", headers)
    assert len(days) == 25


async def test_filter_select_count_and_order(client, world):
    headers = await world.a.headers(client)
    _, bravo, charlie = world.a.customers

    async def names(query):
        response = await client.get(f"{CUSTOMERS}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [c["customerName"] for c in response.json()["value"]]

    assert sorted(await names("$filter=jobStatus eq 2 or jobStatusName eq 'Working'")) == [
        "Alpha", "Charlie",
    ]  # fmt: skip
    assert await names("$filter=staleServices gt 0 and customerName ne 'Alpha'") == ["Bravo"]
    assert await names(f"$filter=customerId eq {bravo}") == ["Bravo"]
    assert await names("$filter=lastSuccessTime eq null") == []
    since = (datetime.now(UTC) - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sorted(await names(f"$filter=lastSuccessTime ge {since}")) == ["Alpha", "Charlie"]
    assert await names(f"$filter=lastSuccessTime lt {since}") == ["Bravo"]
    selected = (
        await client.get(f"{CUSTOMERS}?$select=customerName,jobStatus&$count=true&$top=1",
                         headers=headers)
    ).json()  # fmt: skip
    assert selected["@odata.context"].endswith("#Customers(customerName,jobStatus)")
    assert selected["@odata.count"] == 3 and list(selected["value"][0]) == [
        "customerName", "jobStatus",
    ]  # fmt: skip
    assert "@odata.nextLink" not in selected  # $top is all it asked for
    assert await names("$orderby=customerId asc&$skip=1") == await names("$skip=1")
    full = await client.get(
        CUSTOMERS, headers={**headers, "Accept": "application/json;odata.metadata=full"}
    )
    assert full.json()["value"][0]["@odata.type"] == "#Backupjobs.History.Customer"
    today = datetime.now(UTC).date()
    counted = (
        await client.get(
            DAILY,
            params={"$filter": f"customerId eq {charlie} and jobsFailed ge 1", "$count": "true"},
            headers=headers,
        )
    ).json()
    assert counted["@odata.count"] == 1 == len(counted["value"])
    assert counted["value"][0]["date"] in {(today - timedelta(days=n)).isoformat() for n in (1, 2)}


@pytest.mark.parametrize(
    ("path", "query", "status", "said"),
    [
        (CUSTOMERS, "$filter=nope eq 1", 400, "'nope' is not a filterable property"),
        (CUSTOMERS, "$filter=jobStatus eq 'x'", 400, "jobStatus is Edm.Int32"),
        (CUSTOMERS, "$filter=jobStatusName eq 'Fine'", 400, "'Fine'"),
        (CUSTOMERS, "$filter=customerName eq", 400, "Invalid query option $filter"),
        (CUSTOMERS, "$filter=contains(customerName,'A')", 501, "not implemented"),
        (CUSTOMERS, "$orderby=customerName", 501, "Ordering by 'customerName'"),
        (CUSTOMERS, "$select=nope", 400, "'nope' is not a property of Customer"),
        (CUSTOMERS, "$expand=x", 501, "$expand is not implemented"),
        (CUSTOMERS, "staleAfter=soon", 400, "staleAfter"),
        (DAILY, "$filter=date ge 2026-01-01T00:00:00Z", 400, "date is Edm.Date"),
        (DAILY, "$filter=date ge 2000-01-01", 400, "more than 3660 days"),
        (DAILY, "tz=Mars/Olympus", 400, "Mars/Olympus"),
        (DAILY, "tz=UTC&tz=Asia/Tokyo", 400, "tz is given more than once, with different"),
        (DAILY, "$skiptoken=abc", 400, "Invalid query option $skiptoken"),
    ],
)
async def test_what_it_does_not_take_is_refused_naming_it(client, world, path, query, status, said):
    response = await client.get(f"{path}?{query}", headers=await world.a.headers(client))
    assert said in odata_error(response, status)


async def test_a_skiptoken_is_bound_to_its_filter_and_app(client, world, db):
    headers = {**await world.a.headers(client), "Prefer": "odata.maxpagesize=2"}
    second = await add_app(db, world.a)
    for path in (CUSTOMERS, DAILY):
        link = (await client.get(path, headers=headers)).json()["@odata.nextLink"]
        token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
        other = await client.get(
            f"{path}?$skiptoken={token}&$filter=customerId ne {uuid.uuid4()}", headers=headers
        )
        assert "$skiptoken" in odata_error(other, 400)
        stolen = await client.get(
            f"{path}?$skiptoken={token}", headers=await second.headers(client)
        )
        assert "$skiptoken" in odata_error(stolen, 400)


async def test_a_custom_option_repeated_on_a_next_link_is_taken_once(client, world):
    headers = {**await world.a.headers(client), "Prefer": "odata.maxpagesize=2"}
    link = (await client.get(f"{DAILY}?tz=Asia/Tokyo", headers=headers)).json()["@odata.nextLink"]
    assert parse_qs(urlsplit(link).query)["tz"] == ["Asia/Tokyo"]
    again = await client.get(f"{link.removeprefix(PUBLIC_URL)}&tz=Asia/Tokyo", headers=headers)
    assert again.status_code == 200, again.text
    assert (
        again.json()["value"]
        == (await client.get(link.removeprefix(PUBLIC_URL), headers=headers)).json()["value"]
    )


async def test_another_partners_customers_are_absent(client, world):
    foreign = world.b.customers[0]
    alpha, bravo, _ = world.a.customers
    headers = await world.a.headers(client)
    for path in (CUSTOMERS, DAILY):
        for customer in (foreign, uuid.uuid4()):
            response = await client.get(f"{path}?$filter=customerId eq {customer}", headers=headers)
            assert response.status_code == 200 and response.json()["value"] == []
        rows, _ = await read_all(client, path, headers)
        assert str(foreign) not in {row["customerId"] for row in rows}
    # An app scoped to Alpha sees Alpha alone; Bravo is as absent as a nonexistent one.
    scoped = await world.scoped.headers(client)
    assert [
        c["customerId"] for c in (await client.get(CUSTOMERS, headers=scoped)).json()["value"]
    ] == [str(alpha)]
    days = (await client.get(DAILY, headers=scoped)).json()["value"]
    assert {row["customerId"] for row in days} == {str(alpha)}
    for customer in (bravo, uuid.uuid4()):
        response = await client.get(f"{DAILY}?$filter=customerId eq {customer}", headers=scoped)
        assert response.json()["value"] == []
    other = await world.b.headers(client)
    assert [
        c["customerName"] for c in (await client.get(CUSTOMERS, headers=other)).json()["value"]
    ] == ["Other partner's"]
    customers_only = await world.a.headers(client, "partner.customers.read.all")
    assert "lacks the permission" in odata_error(
        await client.get(DAILY, headers=customers_only), 403
    )
    assert odata_error(await client.get(CUSTOMERS), 401)


async def test_the_service_document_and_metadata_name_the_sets(client):
    root = (await client.get(f"{ROOT}/")).json()
    assert [s["url"] for s in root["value"]] == ["Jobs", "Customers", "DailyOutcomes"]
    metadata = await client.get(f"{ROOT}/$metadata")
    document = etree.fromstring(metadata.content)
    etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd"))).assertValid(document)
    edm = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    keys = {
        entity.get("Name"): [
            ref.get("Name") for ref in entity.findall("edm:Key/edm:PropertyRef", edm)
        ]
        for entity in document.iterfind(".//edm:EntityType", edm)
    }
    assert keys == {
        "Job": ["jobId"],
        "Customer": ["customerId"],
        "DailyOutcome": ["customerId", "date"],
    }
    described = {
        a.getparent().get("Target"): a.get("String")
        for a in document.iterfind(".//edm:Annotation[@Term='Core.Description']", edm)
    }
    assert "UTC" in described["Backupjobs.History.DailyOutcome/date"]
    assert "tz" in described["Backupjobs.History.Container/DailyOutcomes"]
