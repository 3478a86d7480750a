"""HTTP Basic credentials of an app: verified once, kept by a keyed hash, rechecked."""

import base64
from datetime import timedelta

import pytest

from backupjobs.auth.apps import ClientAuthenticationError, remove_secret, secrets_of
from backupjobs.auth.basic import BasicVerifier, decode_basic
from tests.world import make_tenant, now


def encoded(client_id, secret):
    return base64.b64encode(f"{client_id}:{secret}".encode())


@pytest.mark.parametrize(
    "value",
    [b"not base64!", base64.b64encode(b"no-colon"), base64.b64encode(b":secret"),
     base64.b64encode(b"\xff\xfe:x"), base64.b64encode(b"id:se\x00cret")],
)  # fmt: skip
def test_malformed_credentials_say_what_basic_credentials_are(value):
    with pytest.raises(ClientAuthenticationError, match="base64 of client id, ':', client secret"):
        decode_basic(value)


def test_the_secret_may_hold_colons():
    assert decode_basic(encoded("app", "a:b")) == ("app", "a:b")


def test_the_fingerprint_is_a_keyed_hash_not_the_secret():
    credentials = encoded("app", "bjs_secret")
    one, other = BasicVerifier(db=None), BasicVerifier(db=None)  # type: ignore[arg-type]
    assert one.fingerprint(credentials) == one.fingerprint(credentials)
    assert one.fingerprint(credentials) != other.fingerprint(credentials)  # per process
    assert b"bjs_secret" not in one.fingerprint(credentials)
    assert len(one.fingerprint(credentials)) == 32


async def test_verified_once_then_a_lookup_until_the_recheck(db):
    tenant = await make_tenant(db)
    verifier = BasicVerifier(db)
    key = verifier.fingerprint(encoded(tenant.client_id, tenant.secret))
    assert verifier.cached(key) is None
    principal = await verifier.verify(key, tenant.client_id, tenant.secret)
    assert principal.client_id == tenant.client_id and principal.partner_id == tenant.partner_id
    assert "partner.jobs.read.all" in principal.permissions
    assert verifier.cached(key) == principal
    assert all(tenant.secret.encode() not in kept for kept in verifier._verified._entries)
    with pytest.raises(ClientAuthenticationError, match="wrong or expired secret"):
        await verifier.verify(key, tenant.client_id, "bjs_wrong")
    assert verifier.cached(key) is None  # a refusal forgets it


async def test_a_removed_secret_stops_working_at_the_recheck(db):
    tenant = await make_tenant(db)
    verifier = BasicVerifier(db, recheck=0)
    key = verifier.fingerprint(encoded(tenant.client_id, tenant.secret))
    await verifier.verify(key, tenant.client_id, tenant.secret)
    assert verifier.cached(key) is None  # trusted 0 s: verified again on the next request
    async with db.write() as connection:
        [secret] = await secrets_of(connection, tenant.client_id)
        await remove_secret(connection, tenant.client_id, secret.id)
    with pytest.raises(ClientAuthenticationError):
        await verifier.verify(key, tenant.client_id, tenant.secret)


async def test_never_trusted_past_the_secret_s_expiry(db):
    tenant = await make_tenant(db)
    verifier = BasicVerifier(db)
    key = verifier.fingerprint(encoded(tenant.client_id, tenant.secret))
    async with db.read() as connection:
        [secret] = await secrets_of(connection, tenant.client_id)
    almost = secret.expires_at - timedelta(seconds=5)
    await verifier.verify(key, tenant.client_id, tenant.secret, now=almost)
    assert verifier._verified.get(key)[1] == secret.expires_at.timestamp()
    with pytest.raises(ClientAuthenticationError, match="expired"):
        await verifier.verify(key, tenant.client_id, tenant.secret, now=secret.expires_at)
    assert now() < secret.expires_at
