"""The customers endpoints of both generations, as the vendor publishes them (SPEC §5
"Customers"): rows, jobStatus, filters, paging, the entity, and tenant isolation."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backupjobs.model import CustomerProfile, Tenant
from backupjobs.store import directory
from tests.conftest import PUBLIC_URL
from tests.world import ingest, job, make_tenant, now

V3 = "/partner/external/v3/general/customers/batch"
MODERN = "/partner/customers"
#: The vendor's published v3 row: names and JSON types.
V3_TYPES = {
    "id": str, "organization": str, "ownerEmail": str, "jobStatus": int,
    "countryOrRegion": str, "managementMode": int, "tenants": list,
}  # fmt: skip
MODERN_FIELDS = ["id", "organization", "ownerEmail", "jobStatus", "countryOrRegion"]


def recent(**fields):
    """Times of a job that ran an hour ago: not stale."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return {
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(minutes=20)).isoformat(),
        "lastModifyTime": (start + timedelta(minutes=20)).isoformat(),
        **fields,
    }


async def profiled(db, tenant, name="Contoso"):
    profile = CustomerProfile(
        owner_email="admin@contoso.com",
        country_or_region="Afghanistan",
        management_mode=1,
        tenants=(Tenant("03f7382e-0000-4000-8000-000000000001", "Tenant ABC"),),
    )
    async with db.write() as connection:
        return await directory.create_customer(
            connection, tenant.partner_id, name, profile=profile, now=now()
        )


async def test_rows_have_the_vendors_fields_and_types(client, db):
    tenant = await make_tenant(db, customers=1, names=["Zulu"])
    made = await profiled(db, tenant)
    await ingest(client, tenant, [job(made, "failed-1", **recent(status=3))])
    headers = await tenant.headers(client)

    v3 = (await client.post(V3, headers=headers)).json()
    first, plain = v3["data"]
    assert first == {
        "id": str(made), "organization": "Contoso", "ownerEmail": "admin@contoso.com",
        "jobStatus": 2, "countryOrRegion": "Afghanistan", "managementMode": 1,
        "tenants": [{"id": "03f7382e-0000-4000-8000-000000000001", "name": "Tenant ABC"}],
    }  # fmt: skip
    assert list(first) == list(V3_TYPES)
    for row in (first, plain):
        assert {name: type(value) for name, value in row.items()} == V3_TYPES
    # Unknown fields are "" and no tenants []; to be configured; no service: N/A.
    assert plain == {
        "id": str(tenant.customers[0]), "organization": "Zulu", "ownerEmail": "",
        "jobStatus": 0, "countryOrRegion": "", "managementMode": 2, "tenants": [],
    }  # fmt: skip

    modern = (await client.get(MODERN, headers=headers)).json()
    assert modern["@odata.context"] == f"{PUBLIC_URL}/partner/$metadata#Customers"
    assert modern["value"][0] == {
        "id": str(made), "organization": "Contoso", "ownerEmail": "admin@contoso.com",
        "jobStatus": "Failed", "countryOrRegion": "Afghanistan",
    }  # fmt: skip
    for row in modern["value"]:
        assert list(row) == MODERN_FIELDS and all(isinstance(v, str) for v in row.values())

    entity = await client.get(f"{MODERN}/{made}", headers=headers)
    assert entity.status_code == 200
    assert entity.json() == {
        "@odata.context": f"{PUBLIC_URL}/partner/$metadata#Customers/$entity",
        **modern["value"][0],
    }


async def test_each_job_status_on_both_generations(client, db):
    names = ["0 none", "1 working", "2 failed", "3 waiting", "4 several", "5 exception", "6 old"]
    tenant = await make_tenant(db, customers=7, names=names)
    c = tenant.customers
    async with db.write() as connection:
        await directory.enable_service(connection, c[3], 7, 302, now=now())
    stale = datetime.now(UTC) - timedelta(hours=37)
    await ingest(client, tenant, [
        job(c[1], "w1", **recent()), job(c[1], "w2", jobModule=302, **recent(status=1)),
        job(c[2], "f1", **recent(status=7)),
        job(c[3], "q1", jobModule=303, **recent(status=14)),
        job(c[4], "m1", **recent(status=3)), job(c[4], "m2", jobModule=302, **recent(status=4)),
        job(c[5], "e1", **recent(status=4)),
        job(c[6], "o1", startTime=(stale - timedelta(hours=1)).isoformat(),
            endTime=stale.isoformat(), lastModifyTime=stale.isoformat()),
    ])  # fmt: skip
    headers = await tenant.headers(client)
    v3 = (await client.post(V3, headers=headers)).json()["data"]
    assert [(r["organization"], r["jobStatus"]) for r in v3] == [(n, int(n[0])) for n in names]
    modern = (await client.get(MODERN, headers=headers)).json()["value"]
    assert [r["jobStatus"] for r in modern] == [
        "N/A", "Working", "Failed", "Waiting for configuration", "Multiple issues found",
        "Finished with exception", "No backup updates",
    ]  # fmt: skip
    # A newer job of the failed service: working again, on the next read.
    await ingest(client, tenant, [job(c[2], "f2", **recent(status=2))])
    again = (await client.post(V3, json={"customerId": str(c[2])}, headers=headers)).json()
    assert again["data"][0]["jobStatus"] == 1


async def test_body_filters_the_vendors_and_ours(client, db):
    tenant = await make_tenant(db, customers=3, names=["a", "b", "c"])
    other = await make_tenant(db, customers=1)
    headers = await tenant.headers(client)

    async def ids(body):
        response = await client.post(V3, json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["metadata"]["totalCount"] == len(answer["data"])
        return [row["id"] for row in answer["data"]]

    a, b, c = (str(customer) for customer in tenant.customers)
    assert await ids({"customerId": b}) == [b]
    assert await ids({"customerId": b.upper()}) == [b]
    assert await ids({"customerIds": [c, a]}) == [a, c]
    assert await ids({"customerId": None, "unknown": 1}) == [a, b, c]
    assert await ids({"customerIds": []}) == []
    # Unknown, or another partner's: empty data, alike.
    assert await ids({"customerId": str(uuid.uuid4())}) == []
    assert await ids({"customerId": str(other.customers[0])}) == []

    # Both filters: the customers both name.
    assert await ids({"customerId": a, "customerIds": [a]}) == [a]
    assert await ids({"customerId": a, "customerIds": [str(uuid.uuid4())]}) == []

    for body, named in (
        ({"customerId": "nope"}, "customerId"),
        ({"customerId": 5}, "customerId"),
        ({"customerIds": ["nope"]}, "customerIds[0]"),
    ):
        response = await client.post(V3, json=body, headers=headers)
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"
        assert named in response.json()["detail"], response.json()


async def test_v3_pages_50_by_default_up_to_100(client, db):
    tenant = await make_tenant(db, customers=51, names=[f"c{i:02}" for i in range(51)])
    headers = await tenant.headers(client)
    first = (await client.post(V3, headers=headers)).json()
    assert first["metadata"] == {"pageIndex": 1, "pageSize": 50, "totalCount": 51}
    assert [r["organization"] for r in first["data"]] == [f"c{i:02}" for i in range(50)]
    second = (await client.post(f"{V3}?pageIndex=2", headers=headers)).json()
    assert [r["organization"] for r in second["data"]] == ["c50"]
    everything = (await client.post(f"{V3}?pageSize=100", headers=headers)).json()
    assert len(everything["data"]) == 51
    for size in ("0", "101", "x"):
        response = await client.post(f"{V3}?pageSize={size}", headers=headers)
        assert response.status_code == 400
        assert "pageSize" in response.json()["detail"]


@pytest.mark.parametrize("generation", ["v3", "modern"])
async def test_another_partners_customer_is_like_one_that_does_not_exist(client, db, generation):
    a = await make_tenant(db, customers=2, app_customers=[0])
    b = await make_tenant(db, customers=1)
    headers = await a.headers(client)

    async def answer(customer):
        if generation == "v3":
            response = await client.post(V3, json={"customerId": str(customer)}, headers=headers)
        else:
            response = await client.get(f"{MODERN}/{customer}", headers=headers)
        body = response.json()
        body.pop("instance", None)
        return response.status_code, str(body).replace(str(customer), "<id>")

    nonexistent = await answer(uuid.uuid4())
    assert nonexistent[0] == (200 if generation == "v3" else 404)
    assert await answer(b.customers[0]) == nonexistent  # another partner's
    assert await answer(a.customers[1]) == nonexistent  # outside the app's scope
    assert (await answer(a.customers[0]))[0] == 200
