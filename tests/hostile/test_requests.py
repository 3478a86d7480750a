"""Hostile requests to the read APIs and the token endpoint, on both databases: every one a
4xx naming what is wrong (never a 500), the same way on SQLite and PostgreSQL."""

import base64
import uuid

import pytest

from tests.api.odata_answers import odata_error
from tests.world import make_tenant, v3_jobs_path

V3_CUSTOMERS = "/partner/external/v3/general/customers/batch"


def v3_routes(customer) -> list[str]:
    return [
        v3_jobs_path(customer),
        f"/partner/external/v3/general/customers/{customer}/avpt-products/jobs/batch",
        V3_CUSTOMERS,
    ]


async def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail: str = response.json()["detail"]
    return detail


# --- 20.7: a customers filter longer than a statement's bind parameters ----------------


async def test_a_customers_filter_of_33_000_ids_is_answered_on_both_databases(client, db):
    # PostgreSQL takes at most 32,767 bind parameters: the list is one array parameter.
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    wanted = [str(uuid.uuid4()) for _ in range(33_001)] + [str(tenant.customers[0])]
    response = await client.post(V3_CUSTOMERS, json={"customerIds": wanted}, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert [row["id"] for row in response.json()["data"]] == [str(tenant.customers[0])]


# --- 20.9 and 14.6: v3 query parameters, one rule -------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("pageIndex=1&pageIndex=2", "pageIndex"),
        ("pageSize=10&pagesize=20", "pageSize"),
        ("pageIndex=1e3", "pageIndex"),
        ("pageIndex=+5", "pageIndex"),
        ("pageIndex=5.0", "pageIndex"),
        ("pageSize=0x10", "pageSize"),
        ("pageIndex=99999999999999999999", "pageIndex"),
    ],
)
async def test_v3_paging_takes_one_whole_number_each(client, db, query, named):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    for path in v3_routes(tenant.customers[0]):
        detail = await problem(await client.post(f"{path}?{query}", headers=headers), 400)
        assert named in detail, (path, detail)


async def test_an_unknown_v3_query_parameter_is_a_400_listing_the_valid_ones(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    for path in v3_routes(tenant.customers[0]):
        detail = await problem(await client.post(f"{path}?page=2", headers=headers), 400)
        assert "'page'" in detail and "pageIndex" in detail and "pageSize" in detail


async def test_v3_parameter_names_are_matched_in_any_case(client, db):
    # As the vendor's ASP.NET server matches them.
    tenant = await make_tenant(db)
    response = await client.post(
        f"{v3_jobs_path(tenant.customers[0])}?PageIndex=2&PAGESIZE=5",
        headers=await tenant.headers(client),
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"pageIndex": 2, "pageSize": 5, "totalCount": 0}


# --- 20.5: nesting in v3 bodies ---------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 50_000])
async def test_a_deeply_nested_v3_body_is_a_400(client, db, depth):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    bodies = [nested, b'{"jobType": null, "x": ' + nested + b"}"]
    for path in v3_routes(tenant.customers[0]):
        for body in bodies:
            response = await client.post(path, content=body, headers=headers)
            assert "nested" in await problem(response, 400), path


# --- 20.3: NUL in every place a client string goes --------------------------------------


async def test_nul_in_paths_and_segments_is_an_unknown_customer_or_code(client, db):
    tenant = await make_tenant(db)
    headers = await tenant.headers(client)
    c = tenant.customers[0]
    for path in ["/partner/customers/%00/jobs", "/partner/customers/%00"]:
        odata_error(await client.get(path, headers=headers), 404)
    for path in ["/partner/Customers('%00')", "/partner/Customers(%00)/jobs"]:  # a key: 400
        assert "a GUID" in odata_error(await client.get(path, headers=headers), 400)
    await problem(await client.post(v3_jobs_path("%00"), headers=headers), 404)
    detail = odata_error(
        await client.get(f"/partner/customers/{c}/jobs/jobType/%00/jobModule/302", headers=headers),
        400,
    )
    assert "JobType" in detail
    body = await client.post(V3_CUSTOMERS, json={"customerIds": ["\u0000"]}, headers=headers)
    assert "customerIds" in await problem(body, 400)
    filters = await client.post(v3_jobs_path(c), json={"jobType": "\u0000"}, headers=headers)
    assert "jobType" in await problem(filters, 400)
    query = await client.get(f"/partner/customers/{c}/jobs?$top=%00", headers=headers)
    assert "$top" in odata_error(query, 400)
    v3_query = await client.post(f"{v3_jobs_path(c)}?pageIndex=%00", headers=headers)
    assert "pageIndex" in await problem(v3_query, 400)


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": "\u0000", "client_secret": "x"}, 400, "invalid_request"),
        ({"client_id": "app\u0000", "client_secret": "x"}, 400, "invalid_request"),
        ({"client_id": "x", "client_secret": "\u0000"}, 400, "invalid_request"),
        ({"scope": "\u0000"}, 400, "invalid_request"),
    ],
)
async def test_nul_in_the_token_form_is_an_oauth_error(client, db, form, status, error):
    response = await client.post(
        "/connect/token", data={"grant_type": "client_credentials", **form}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "NUL" in response.json()["error_description"]


@pytest.mark.parametrize("credentials", ["\u0000:x", "x:\u0000", "%00:x"])
async def test_nul_in_basic_credentials_is_an_oauth_error(client, db, credentials):
    encoded = base64.b64encode(credentials.encode()).decode()
    response = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {encoded}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "NUL" in response.json()["error_description"]


async def test_nul_in_an_assertion_s_client_is_an_oauth_error(client, db):
    import jwt  # noqa: PLC0415

    assertion = jwt.encode({"iss": "a\u0000", "sub": "a\u0000"}, "k" * 32, algorithm="HS256")
    response = await client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_request", "invalid_client")


# --- 13: a name two codes share ---------------------------------------------------------


async def test_a_modern_path_naming_a_shared_name_is_a_400_naming_both_codes(client, db):
    tenant = await make_tenant(db)
    response = await client.get(
        f"/partner/customers/{tenant.customers[0]}/jobs/jobType/7/jobModule/Archiver",
        headers=await tenant.headers(client),
    )
    detail = odata_error(response, 400)
    assert "8" in detail and "309" in detail and "JobModule" in detail
    by_code = await client.get(
        f"/partner/customers/{tenant.customers[0]}/jobs/jobType/7/jobModule/309",
        headers=await tenant.headers(client),
    )
    assert by_code.status_code == 200


# --- 20.8: /metrics ---------------------------------------------------------------------


async def test_metrics_say_their_charset_once(client):
    response = await client.get("/metrics")
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.count("charset") == 1, content_type
    assert content_type.startswith("text/plain; version=")
    document = (await client.get("/docs/openapi.json")).json()
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
    assert content["text/plain"]["schema"]["type"] == "string"
