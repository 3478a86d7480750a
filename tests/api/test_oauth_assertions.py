"""Certificate client authentication: RFC 7523 private_key_jwt client assertions."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from backupjobs.auth.certificates import certificates_of, remove_certificate
from tests.auth.credentials import (
    assertion,
    assertion_form,
    private_key,
    register_certificate,
)
from tests.conftest import PUBLIC_URL
from tests.world import make_tenant, v3_jobs_path

AUDIENCE = f"{PUBLIC_URL}/connect/token"


@pytest.fixture
async def tenant(db):
    """A tenant whose app has an RSA and an EC P-256 certificate."""
    made = await make_tenant(db)
    await register_certificate(db, made.partner_id, made.client_id, private_key("rsa"))
    await register_certificate(db, made.partner_id, made.client_id, private_key("ec"))
    return made


async def token_with(client, signed, **extra):
    return await client.post("/connect/token", data=assertion_form(signed, **extra))


async def refused(client, signed, reason, **extra):
    response = await token_with(client, signed, **extra)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert reason in response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    return response


@pytest.mark.parametrize(
    ("kind", "algorithm"), [("rsa", "RS256"), ("rsa", "PS256"), ("ec", "ES256")]
)
async def test_a_valid_assertion_gets_a_token_that_works(client, tenant, kind, algorithm):
    signed = assertion(private_key(kind), tenant.client_id, AUDIENCE, algorithm=algorithm)
    response = await token_with(client, signed)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == claims["sub"] == tenant.client_id
    jobs = await client.post(
        v3_jobs_path(tenant.customers[0]),
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert jobs.status_code == 200


async def test_client_id_may_also_be_sent_and_must_match(client, tenant):
    key = private_key("rsa")
    ok = await token_with(
        client, assertion(key, tenant.client_id, AUDIENCE), client_id=tenant.client_id
    )
    assert ok.status_code == 200
    await refused(
        client,
        assertion(key, tenant.client_id, AUDIENCE),
        "another client",
        client_id="00000000-0000-0000-0000-000000000000",
    )


async def test_a_replayed_assertion_is_refused(client, tenant):
    signed = assertion(private_key("rsa"), tenant.client_id, AUDIENCE)
    assert (await token_with(client, signed)).status_code == 200
    await refused(client, signed, "already used")
    # A new assertion with the same jti is a replay too.
    jti = jwt.decode(signed, options={"verify_signature": False})["jti"]
    await refused(
        client, assertion(private_key("rsa"), tenant.client_id, AUDIENCE, jti=jti), "already used"
    )


async def test_concurrent_uses_of_one_assertion_get_one_token(client, tenant):
    signed = assertion(private_key("ec"), tenant.client_id, AUDIENCE, algorithm="ES256")
    responses = await asyncio.gather(*(token_with(client, signed) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401, 401]


async def test_the_same_jti_from_two_clients_is_no_replay(client, db, tenant):
    other = await make_tenant(db)
    await register_certificate(db, other.partner_id, other.client_id, private_key("rsa", 1))
    mine = assertion(private_key("rsa"), tenant.client_id, AUDIENCE, jti="shared-jti")
    theirs = assertion(private_key("rsa", 1), other.client_id, AUDIENCE, jti="shared-jti")
    assert (await token_with(client, mine)).status_code == 200
    assert (await token_with(client, theirs)).status_code == 200


@pytest.mark.parametrize(
    "audience",
    [PUBLIC_URL, f"{PUBLIC_URL}/connect/token/", "https://login.example/connect/token", None],
)
async def test_wrong_audience_is_refused(client, tenant, audience):
    signed = assertion(private_key("rsa"), tenant.client_id, AUDIENCE, aud=audience)
    await refused(client, signed, "aud must be")


async def test_audience_as_a_one_element_list_is_accepted(client, tenant):
    signed = assertion(private_key("rsa"), tenant.client_id, AUDIENCE, aud=[AUDIENCE])
    assert (await token_with(client, signed)).status_code == 200
    both = assertion(
        private_key("rsa"), tenant.client_id, AUDIENCE, aud=[AUDIENCE, "https://other.example"]
    )
    await refused(client, both, "aud must be")


async def test_expired_assertion_is_refused_beyond_the_clock_skew(client, tenant):
    now = int(time.time())
    key = private_key("rsa")
    expired = assertion(key, tenant.client_id, AUDIENCE, exp=now - 61, iat=now - 120, nbf=None)
    await refused(client, expired, "expired")
    within_skew = assertion(key, tenant.client_id, AUDIENCE, exp=now - 30, iat=now - 90, nbf=None)
    assert (await token_with(client, within_skew)).status_code == 200


async def test_too_long_lived_assertion_is_refused(client, tenant):
    key = private_key("rsa")
    now = int(time.time())
    for lifetime in (3600, 660, 601):  # counted from iat
        await refused(
            client, assertion(key, tenant.client_id, AUDIENCE, lifetime=lifetime), "too long"
        )
    # Counted from nbf without iat, and from now (within the skew) without either.
    await refused(
        client, assertion(key, tenant.client_id, AUDIENCE, iat=None, exp=now + 620), "too long"
    )
    bare = {"iat": None, "nbf": None}
    await refused(
        client, assertion(key, tenant.client_id, AUDIENCE, exp=now + 700, **bare), "too long"
    )
    for exp in (now + 650, now + 600):
        fine = assertion(key, tenant.client_id, AUDIENCE, exp=exp, **bare)
        assert (await token_with(client, fine)).status_code == 200
    ten_minutes = assertion(key, tenant.client_id, AUDIENCE, lifetime=600)
    assert (await token_with(client, ten_minutes)).status_code == 200
    # A client whose clock is 30 s ahead still gets ten minutes.
    ahead = assertion(key, tenant.client_id, AUDIENCE, iat=now + 30, nbf=now + 30, exp=now + 630)
    assert (await token_with(client, ahead)).status_code == 200


async def test_assertion_from_the_future_is_refused(client, tenant):
    now = int(time.time())
    key = private_key("rsa")
    await refused(
        client, assertion(key, tenant.client_id, AUDIENCE, nbf=now + 120), "not valid yet"
    )
    await refused(client, assertion(key, tenant.client_id, AUDIENCE, iat=now + 120), "future")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": None}, "no exp"),
        ({"exp": "soon"}, "not a number"),
        ({"jti": None}, "no jti"),
        ({"jti": ""}, "no jti"),
        ({"jti": "x" * 256}, "longer than 255"),
        ({"iss": None}, "no iss"),
        ({"sub": "someone-else"}, "sub equal to iss"),
    ],
)
async def test_missing_or_malformed_claims_are_refused(client, tenant, claims, reason):
    await refused(
        client, assertion(private_key("rsa"), tenant.client_id, AUDIENCE, **claims), reason
    )


async def test_signed_by_an_unregistered_key_is_refused(client, tenant):
    stranger = private_key("rsa", 7)
    await refused(
        client, assertion(stranger, tenant.client_id, AUDIENCE), "not signed by a registered"
    )


async def test_another_apps_certificate_does_not_sign_for_this_one(client, db, tenant):
    other = await make_tenant(db)
    key = private_key("rsa", 2)
    await register_certificate(db, other.partner_id, other.client_id, key)
    await refused(client, assertion(key, tenant.client_id, AUDIENCE), "not signed by a registered")
    assert (await token_with(client, assertion(key, other.client_id, AUDIENCE))).status_code == 200


async def test_an_unknown_client_is_refused_like_an_unregistered_key(client):
    signed = assertion(private_key("rsa"), "no-such-client", AUDIENCE)
    await refused(client, signed, "not signed by a registered")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, sign=lambda signing_input: b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims_of(signed):
    return jwt.decode(signed, options={"verify_signature": False})


async def test_alg_none_is_refused(client, tenant):
    claims = claims_of(assertion(private_key("rsa"), tenant.client_id, AUDIENCE))
    await refused(client, hand_made({"alg": "none", "typ": "JWT"}, claims), "not alg 'none'")


async def test_hmac_with_the_public_key_as_secret_is_refused(client, tenant):
    # The classic algorithm confusion: HS256 keyed with the certificate's public key.
    public = (
        private_key("rsa")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = claims_of(assertion(private_key("rsa"), tenant.client_id, AUDIENCE))
    forged = hand_made(
        {"alg": "HS256", "typ": "JWT"},
        claims,
        lambda signing_input: hmac.new(public, signing_input, hashlib.sha256).digest(),
    )
    await refused(client, forged, "not alg 'HS256'")


async def test_an_ec_key_cannot_sign_as_rs256_and_vice_versa(client, tenant):
    # ES256 signed by the RSA key's owner is impossible; RS256 claimed with the EC key's
    # signature is just a bad signature for every RSA certificate.
    es = assertion(private_key("ec"), tenant.client_id, AUDIENCE, algorithm="ES256")
    _, body, signature = es.split(".")
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    relabelled = f"{header}.{body}.{signature}"
    await refused(client, relabelled, "not signed by a registered")


async def test_the_header_naming_another_certificate_changes_nothing(client, db, tenant):
    certificates = await certificates_of_app(db, tenant)
    rsa_certificate = next(c for c in certificates if c.key_type.startswith("RSA"))
    ec_certificate = next(c for c in certificates if c.key_type == "EC P-256")
    # Signed by the RSA key, but the header names the EC certificate: still the RSA key's.
    misnamed = assertion(
        private_key("rsa"),
        tenant.client_id,
        AUDIENCE,
        headers={"x5t": ec_certificate.x5t(), "kid": ec_certificate.thumbprint},
    )
    assert (await token_with(client, misnamed)).status_code == 200
    # Signed by a stranger, naming the registered certificate: refused.
    impostor = assertion(
        private_key("rsa", 9),
        tenant.client_id,
        AUDIENCE,
        headers={"x5t": rsa_certificate.x5t(), "x5t#S256": rsa_certificate.x5t_s256()},
    )
    await refused(client, impostor, "not signed by a registered")


async def certificates_of_app(db, tenant):
    async with db.read() as connection:
        return await certificates_of(connection, tenant.client_id)


async def test_a_removed_certificate_is_refused(client, db, tenant):
    key = private_key("rsa", 3)
    registered = await register_certificate(db, tenant.partner_id, tenant.client_id, key)
    assert (await token_with(client, assertion(key, tenant.client_id, AUDIENCE))).status_code == 200
    async with db.write() as connection:
        await remove_certificate(
            connection, tenant.partner_id, tenant.client_id, registered.thumbprint
        )
    await refused(client, assertion(key, tenant.client_id, AUDIENCE), "not signed by a registered")


async def test_an_expired_certificate_is_refused(client, db, tenant):
    key = private_key("rsa", 4)
    past = datetime.now(UTC) - timedelta(days=1)
    await register_certificate(
        db,
        tenant.partner_id,
        tenant.client_id,
        key,
        not_before=past - timedelta(days=365),
        not_after=past,
    )
    await refused(client, assertion(key, tenant.client_id, AUDIENCE), "not signed by a registered")


async def test_a_certificate_not_valid_yet_is_refused(client, db, tenant):
    key = private_key("rsa", 5)
    later = datetime.now(UTC) + timedelta(hours=1)
    await register_certificate(
        db,
        tenant.partner_id,
        tenant.client_id,
        key,
        not_before=later,
        not_after=later + timedelta(days=30),
    )
    await refused(client, assertion(key, tenant.client_id, AUDIENCE), "not signed by a registered")


async def test_certificate_use_is_recorded(client, db, tenant):
    before = datetime.now(UTC)
    signed = assertion(private_key("ec"), tenant.client_id, AUDIENCE, algorithm="ES256")
    assert (await token_with(client, signed)).status_code == 200
    used = {c.key_type: c.last_used_at for c in await certificates_of_app(db, tenant)}
    assert used["EC P-256"] is not None and used["EC P-256"] >= before
    assert used["RSA 2048"] is None


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"client_assertion_type": "urn:other"}, "client_assertion_type must be"),
        ({"client_assertion_type": None}, "client_assertion_type must be"),
        ({"client_assertion": ""}, "client_assertion is required"),
        ({"client_secret": "bjs_x"}, "one client authentication method"),
    ],
)
async def test_malformed_assertion_requests_are_invalid_request(client, tenant, form, reason):
    data = assertion_form(assertion(private_key("rsa"), tenant.client_id, AUDIENCE))
    data.update(form)
    data = {name: value for name, value in data.items() if value is not None}
    response = await client.post("/connect/token", data=data)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert reason in response.json()["error_description"]


async def test_garbage_assertion_is_invalid_client(client):
    response = await token_with(client, "not-a-jwt")
    assert response.status_code == 401
    assert "not a well-formed signed JWT" in response.json()["error_description"]


async def test_discovery_advertises_private_key_jwt(client):
    body = (await client.get("/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]
