"""Another partner's customer, or one outside the app's scope, answers exactly like one
that does not exist: same status, same body but for the id, on every endpoint."""

import uuid

import pytest

from tests.world import add_app, ingest, job, make_tenant

CUSTOMER_ENDPOINTS = [
    "/partner/external/v3/general/customers/{c}/jobs",
    "/partner/external/v3/general/customers/{c}/avpt-products/jobs/batch",
]


@pytest.fixture
async def setting(client, db):
    """Partner A (an app for all customers, one scoped to customer 0) and partner B."""
    a = await make_tenant(db, customers=2)
    scoped = await add_app(db, a, app_customers=[0])
    b = await make_tenant(db, customers=1)
    for tenant in (a, b):
        await ingest(client, tenant, [job(c, f"job-{c}") for c in tenant.customers])
    return a, scoped, b


def normalized(response, customer):
    return response.status_code, response.text.replace(str(customer), "<id>")


@pytest.mark.parametrize("path", CUSTOMER_ENDPOINTS)
async def test_foreign_out_of_scope_and_missing_customers_look_alike(client, setting, path):
    a, scoped, b = setting
    headers = await scoped.headers(client)
    mine = await client.post(path.format(c=a.customers[0]), headers=headers)
    assert mine.status_code == 200 and mine.json()["data"]
    answers = {
        name: normalized(await client.post(path.format(c=customer), headers=headers), customer)
        for name, customer in {
            "other partner": b.customers[0],
            "outside app scope": a.customers[1],
            "nonexistent": uuid.uuid4(),
        }.items()
    }
    assert answers["other partner"][0] == 404
    assert answers["other partner"] == answers["outside app scope"] == answers["nonexistent"]


async def test_customer_list_holds_only_the_apps_customers(client, setting):
    a, scoped, b = setting
    path = "/partner/external/v3/general/customers/batch"
    listed = (await client.post(path, headers=await scoped.headers(client))).json()
    assert [r["id"] for r in listed["data"]] == [str(a.customers[0])]
    assert listed["metadata"]["totalCount"] == 1
    asked = await client.post(
        path, json={"customerIds": [str(c) for c in (*a.customers, *b.customers)]},
        headers=await scoped.headers(client),
    )  # fmt: skip
    assert [r["id"] for r in asked.json()["data"]] == [str(a.customers[0])]
    everything = (await client.post(path, headers=await a.headers(client))).json()
    assert {r["id"] for r in everything["data"]} == {str(c) for c in a.customers}


async def test_ingest_rejects_foreign_and_out_of_scope_alike(client, setting):
    a, scoped, b = setting
    targets = [b.customers[0], a.customers[1], uuid.uuid4()]
    answer = (await client.post(
        "/api/v1/ingest/jobs", json=[job(c, f"new-{i}") for i, c in enumerate(targets)],
        headers=await scoped.headers(client),
    )).json()  # fmt: skip
    assert answer["stored"] == 0
    assert [r["error"].replace(str(targets[r["index"]]), "<id>") for r in answer["rejected"]] == [
        "unknown customer <id>"
    ] * 3
