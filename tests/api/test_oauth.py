import base64
import time
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backupjobs.auth.permissions import Permission
from tests.conftest import PUBLIC_URL
from tests.world import add_app, get_token, make_tenant, v3_jobs_path


def form(tenant, **extra):
    return {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
        **extra,
    }


async def test_token_with_secret_in_the_form(client, db):
    tenant = await make_tenant(db)
    response = await client.post("/connect/token", data=form(tenant))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {p.value for p in Permission}
    assert "refresh_token" not in body


async def test_token_with_http_basic(client, db):
    tenant = await make_tenant(db)
    credentials = base64.b64encode(
        f"{quote(tenant.client_id)}:{quote(tenant.secret)}".encode()
    ).decode()
    response = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 200, response.text


async def test_access_token_is_an_rfc9068_jwt(client, db):
    tenant = await make_tenant(db)
    token = await get_token(client, tenant.client_id, tenant.secret, "elements.jobs.read.all")
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=PUBLIC_URL)
    assert claims["iss"] == PUBLIC_URL
    assert claims["sub"] == claims["client_id"] == tenant.client_id
    assert claims["scope"] == "elements.jobs.read.all"
    assert claims["exp"] - claims["iat"] == 3600
    assert {"jti", "aud"} <= set(claims)


async def test_discovery_names_the_token_endpoint_and_keys(client):
    body = (await client.get("/.well-known/openid-configuration")).json()
    assert body["issuer"] == PUBLIC_URL
    assert body["token_endpoint"] == f"{PUBLIC_URL}/connect/token"
    assert body["jwks_uri"] == f"{PUBLIC_URL}/.well-known/jwks.json"
    assert "client_credentials" in body["grant_types_supported"]


async def oauth_error(client, data, *, status, error, headers=None):
    response = await client.post("/connect/token", data=data, headers=headers or {})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    return response


async def test_wrong_secret_is_invalid_client(client, db):
    tenant = await make_tenant(db)
    await oauth_error(
        client, form(tenant, client_secret="bjs_wrong"), status=401, error="invalid_client"
    )


async def test_unknown_client_is_invalid_client(client, db):
    tenant = await make_tenant(db)
    await oauth_error(client, form(tenant, client_id="nobody"), status=401, error="invalid_client")


async def test_wrong_basic_secret_asks_for_basic(client, db):
    tenant = await make_tenant(db)
    credentials = base64.b64encode(f"{tenant.client_id}:nope".encode()).decode()
    response = await oauth_error(
        client,
        {"grant_type": "client_credentials"},
        status=401,
        error="invalid_client",
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_missing_client_authentication(client):
    await oauth_error(
        client, {"grant_type": "client_credentials"}, status=401, error="invalid_client"
    )


async def test_scope_not_granted_is_invalid_scope(client, db):
    tenant = await make_tenant(db, permissions=frozenset({"elements.jobs.read.all"}))
    await oauth_error(
        client, form(tenant, scope="partner.jobs.read.all"), status=400, error="invalid_scope"
    )
    await oauth_error(client, form(tenant, scope="made.up"), status=400, error="invalid_scope")


async def test_scope_subset_is_granted(client, db):
    tenant = await make_tenant(db)
    response = await client.post(
        "/connect/token", data=form(tenant, scope="partner.jobs.read.all elements.jobs.read.all")
    )
    assert set(response.json()["scope"].split()) == {
        "partner.jobs.read.all",
        "elements.jobs.read.all",
    }


async def test_unsupported_grant_type(client, db):
    tenant = await make_tenant(db)
    await oauth_error(
        client, form(tenant, grant_type="password"), status=400, error="unsupported_grant_type"
    )


async def test_missing_grant_type_and_repeated_parameters(client, db):
    tenant = await make_tenant(db)
    await oauth_error(client, {"client_id": tenant.client_id}, status=400, error="invalid_request")
    response = await client.post(
        "/connect/token",
        content=f"grant_type=client_credentials&client_id={tenant.client_id}&client_id=x&client_secret={tenant.secret}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_json_body_is_invalid_request(client, db):
    tenant = await make_tenant(db)
    response = await client.post("/connect/token", json=form(tenant))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# Resource endpoints (RFC 6750)


async def test_no_token_is_401_with_bearer_challenge(client, db):
    tenant = await make_tenant(db)
    response = await client.post(v3_jobs_path(tenant.customers[0]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


async def bad_token(client, path, token):
    response = await client.post(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    return response


async def test_tampered_token(client, db):
    tenant = await make_tenant(db)
    token = await tenant.token(client)
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["partner_id"] = "00000000-0000-0000-0000-000000000000"
    forged = base64.urlsafe_b64encode(jwt.api_jws.json.dumps(claims).encode()).rstrip(b"=").decode()
    await bad_token(client, v3_jobs_path(tenant.customers[0]), f"{header}.{forged}.{signature}")


async def test_alg_none_token(client, db):
    tenant = await make_tenant(db)
    claims = jwt.decode(await tenant.token(client), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt", "kid": "x"})
    await bad_token(client, v3_jobs_path(tenant.customers[0]), unsigned)


async def test_expired_token(client, db, context):
    tenant = await make_tenant(db)
    token = await tenant.token(client)
    kid = jwt.get_unverified_header(token)["kid"]
    # Re-sign an expired copy with the service's own key, as the service would have.
    key = next(k for k in context.keys._keys.values() if k.kid == kid)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(
        iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200, exp=int(time.time()) - 3600
    )
    expired = jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    response = await bad_token(client, v3_jobs_path(tenant.customers[0]), expired)
    assert "expired" in response.json()["detail"]


async def test_token_from_a_foreign_issuer(client, db):
    tenant = await make_tenant(db)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(await tenant.token(client), options={"verify_signature": False})
    kid = jwt.get_unverified_header(await tenant.token(client))["kid"]
    forged = jwt.encode(
        claims, foreign_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    await bad_token(client, v3_jobs_path(tenant.customers[0]), forged)
    other_issuer = jwt.encode(
        {**claims, "iss": "https://elsewhere"},
        foreign_key,
        algorithm="RS256",
        headers={"kid": "zz", "typ": "at+jwt"},
    )
    await bad_token(client, v3_jobs_path(tenant.customers[0]), other_issuer)


def resigned(context, token, **changes):
    """A copy of ``token`` with ``changes``, signed with the service's own key."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in context.keys._keys.values() if k.kid == kid)
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )


async def test_a_token_issued_for_another_address_says_so(client, db, context):
    tenant = await make_tenant(db)
    elsewhere = "http://127.0.0.1:8000"  # the address a misconfigured proxy passed on
    token = resigned(context, await tenant.token(client), iss=elsewhere, aud=elsewhere)
    response = await bad_token(client, v3_jobs_path(tenant.customers[0]), token)
    detail = response.json()["detail"]
    assert detail == (
        f"The access token was issued for another address: its audience is {elsewhere}, "
        f"this service's is {PUBLIC_URL} (get a token from {PUBLIC_URL}/connect/token, or "
        "set BACKUPJOBS_PUBLIC_URL to the address clients use)."
    )
    assert (
        f'error_description="{detail[0].lower()}{detail[1:-1]}"'
        in (response.headers["www-authenticate"])
    )
    issuer_only = resigned(context, await tenant.token(client), iss=elsewhere)
    response = await bad_token(client, v3_jobs_path(tenant.customers[0]), issuer_only)
    assert f"its issuer is {elsewhere}, this service is {PUBLIC_URL}" in response.json()["detail"]


async def test_a_forged_token_is_invalid_whatever_its_audience(client, db):
    tenant = await make_tenant(db)
    token = await tenant.token(client)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    for audience in (PUBLIC_URL, "http://127.0.0.1:8000"):
        forged = jwt.encode(
            {**claims, "aud": audience, "iss": audience},
            foreign_key,
            algorithm="RS256",
            headers={"kid": kid, "typ": "at+jwt"},
        )
        response = await bad_token(client, v3_jobs_path(tenant.customers[0]), forged)
        assert response.json()["detail"] == "The access token is invalid."


async def test_garbage_token(client, db):
    tenant = await make_tenant(db)
    await bad_token(client, v3_jobs_path(tenant.customers[0]), "not.a.jwt")


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("/partner/external/v3/general/customers/{c}/jobs", "elements.jobs.read.all"),
        (
            "/partner/external/v3/general/customers/{c}/avpt-products/jobs/batch",
            "elements.jobs.read.all",
        ),
        ("/partner/external/v3/general/customers/batch", "elements.customers.read.all"),
        ("/api/v1/ingest/jobs", "elements.jobs.write.all"),
    ],
)
async def test_missing_permission_is_403_insufficient_scope(client, db, path, permission):
    tenant = await make_tenant(db)
    others = " ".join(sorted({p.value for p in Permission} - {permission}))
    response = await client.post(
        path.format(c=tenant.customers[0]), json=[], headers=await tenant.headers(client, others)
    )
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and permission in challenge
    assert response.json()["status"] == 403


async def test_an_app_token_does_not_grant_more_than_its_app(client, db):
    tenant = await make_tenant(db)
    reader = await add_app(db, tenant, permissions=frozenset({"partner.jobs.read.all"}))
    response = await client.post(
        v3_jobs_path(tenant.customers[0]), headers=await reader.headers(client)
    )
    assert response.status_code == 403
