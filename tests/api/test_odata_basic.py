"""Power BI's sign-in: an app's client id and secret as HTTP Basic on the OData feeds."""

import base64
import uuid

import pytest

from backupjobs.api import build_application
from tests.api.odata_answers import odata_error
from tests.api.test_ratelimit import client_from
from tests.world import make_tenant, v3_jobs_path


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_basic_credentials_open_every_odata_feed(client, db):
    tenant = await make_tenant(db)
    c = tenant.customers[0]
    headers = basic(tenant.client_id, tenant.secret)
    for path in ("/partner/customers", f"/partner/customers/{c}", f"/partner/customers/{c}/jobs",
                 f"/partner/Customers({c})/jobs", "/partner/customers/$count"):  # fmt: skip
        for _ in range(2):  # verified, then kept
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)
    stranger = (await make_tenant(db)).customers[0]
    for path in (f"/partner/customers/{stranger}/jobs", f"/partner/customers/{uuid.uuid4()}"):
        assert "was not found" in odata_error(await client.get(path, headers=headers), 404)


async def test_basic_is_refused_outside_the_odata_services(client, db):
    tenant = await make_tenant(db)
    response = await client.post(
        v3_jobs_path(tenant.customers[0]), headers=basic(tenant.client_id, tenant.secret)
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "access token is required" in response.json()["detail"]


async def test_no_or_wrong_credentials_are_401_asking_for_basic_too(client, db):
    tenant = await make_tenant(db)
    path = f"/partner/customers/{tenant.customers[0]}/jobs"
    anonymous = await client.get(path)
    assert "client id and secret as 'Authorization: Basic" in odata_error(anonymous, 401)
    challenge = anonymous.headers["www-authenticate"]
    assert (
        challenge.startswith('Bearer realm="backupjobs"')
        and 'Basic realm="backupjobs"' in challenge
    )
    for headers, said in (
        (basic(tenant.client_id, "bjs_wrong"), "unknown client, or wrong or expired secret"),
        (basic("nobody", tenant.secret), "unknown client, or wrong or expired secret"),
        ({"Authorization": "Basic !!!"}, "malformed Basic credentials"),
    ):
        refused = await client.get(path, headers=headers)
        assert said in odata_error(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Basic realm=")
    limited_app = await make_tenant(db, permissions=frozenset({"partner.customers.read.all"}))
    forbidden = await client.get(path, headers=basic(limited_app.client_id, limited_app.secret))
    assert "The app lacks the permission partner.jobs.read.all" in odata_error(forbidden, 403)


@pytest.fixture(scope="module")
async def limited(settings):
    application = build_application(
        settings.with_changes(
            rate_limit_app=3, rate_limit_token_client=2, rate_limit_token_address=4
        )
    )
    async with application.lifespan():
        yield application


async def test_sign_ins_are_limited_like_token_requests_and_requests_like_an_app(limited, db):
    tenant = await make_tenant(db)
    async with client_from(limited, "203.0.113.77") as http:
        wrong = basic(tenant.client_id, "bjs_wrong")
        statuses = [(await http.get("/partner/customers", headers=wrong)).status_code
                    for _ in range(5)]  # fmt: skip
        assert statuses == [401] * 4 + [429]
        refused = await http.get(
            "/partner/customers", headers=basic(tenant.client_id, tenant.secret)
        )
        assert "from this address" in odata_error(refused, 429)
        assert refused.headers["retry-after"]
    async with client_from(limited, "203.0.113.78") as http:
        right = basic(tenant.client_id, tenant.secret)
        statuses = [(await http.get("/partner/customers", headers=right)).status_code
                    for _ in range(4)]  # fmt: skip
        assert statuses == [200, 200, 200, 429]  # the app's quota of 3
        assert "for this app" in odata_error(
            await http.get("/partner/customers", headers=right), 429
        )
