"""Signing key rotation: published at once, signs after the grace period, old key verifies on."""

import uuid
from datetime import UTC, datetime, timedelta

import anyio
import jwt
from sqlalchemy import select

from backupjobs.auth.apps import App
from backupjobs.auth.keys import (
    KeyRing,
    ensure_signing_key,
    list_keys,
    rotate_keys,
    verification_overlap,
)
from backupjobs.auth.tokens import TokenIssuer, TokenVerifier
from backupjobs.store.schema import signing_keys

LIFETIME = 3600
GRACE = timedelta(minutes=5)


def kids(jwks):
    return [key["kid"] for key in jwks["keys"]]


async def test_rotation_publishes_at_once_and_signs_after_the_grace_period(fresh_db):
    start = datetime.now(UTC)
    await ensure_signing_key(fresh_db, now=start)
    ring = KeyRing(fresh_db, token_lifetime=LIFETIME)
    await ring.load()
    old = (await ring.signer(start)).kid

    rotated_at = start + timedelta(minutes=1)
    rotation = await rotate_keys(fresh_db, now=rotated_at, grace=GRACE, token_lifetime=LIFETIME)
    new = rotation.new.kid
    switch = rotated_at + GRACE
    assert rotation.new.signs_from == switch
    assert [key.kid for key in rotation.retiring] == [old]
    assert rotation.retiring[0].retired_at == switch
    assert rotation.retiring[0].verifies_until == switch + verification_overlap(LIFETIME)

    # The JWKS reads the database: the new key is there at once, newest first.
    assert kids(await ring.jwks(rotated_at)) == [new, old]
    assert (await ring.signer(rotated_at)).kid == old
    assert (await ring.signer(switch - timedelta(seconds=1))).kid == old
    assert (await ring.signer(switch)).kid == new

    # The old key verifies as long as a token it signed just before the switch can live.
    last_old_token_expiry = switch + timedelta(seconds=LIFETIME)
    assert await ring.verification_key(old, last_old_token_expiry) is not None
    assert kids(await ring.jwks(last_old_token_expiry)) == [new, old]
    gone = switch + verification_overlap(LIFETIME)
    assert await ring.verification_key(old, gone) is None
    assert kids(await ring.jwks(gone)) == [new]
    assert await ring.verification_key(new, gone) is not None


async def test_a_process_with_a_longer_token_lifetime_keeps_verifying_longer(fresh_db):
    start = datetime.now(UTC)
    await ensure_signing_key(fresh_db, now=start)
    old = (await list_keys(fresh_db))[0].kid
    rotation = await rotate_keys(fresh_db, now=start, grace=GRACE, token_lifetime=60)
    longer = KeyRing(fresh_db, token_lifetime=LIFETIME)
    await longer.load()
    after_operator_window = rotation.retiring[0].verifies_until + timedelta(seconds=1)
    assert await longer.verification_key(old, after_operator_window) is not None


async def test_rotating_again_during_the_grace_period_hands_over_to_the_newest(fresh_db):
    start = datetime.now(UTC)
    await ensure_signing_key(fresh_db, now=start)
    first = await rotate_keys(fresh_db, now=start, grace=GRACE, token_lifetime=LIFETIME)
    second = await rotate_keys(
        fresh_db, now=start + timedelta(minutes=1), grace=GRACE, token_lifetime=LIFETIME
    )
    # The original key already stops when the first rotation's key starts.
    assert [key.kid for key in second.retiring] == [first.new.kid]
    ring = KeyRing(fresh_db, token_lifetime=LIFETIME)
    await ring.load()
    assert (await ring.signer(first.new.signs_from)).kid == first.new.kid
    assert (await ring.signer(second.new.signs_from)).kid == second.new.kid
    states = {key.kid: key.state(start + timedelta(minutes=2)) for key in await list_keys(fresh_db)}
    assert sorted(states.values()) == ["next", "next", "signing"]


async def test_rotating_a_database_without_keys_signs_at_once(fresh_db):
    now = datetime.now(UTC)
    rotation = await rotate_keys(fresh_db, now=now, grace=GRACE, token_lifetime=LIFETIME)
    assert rotation.new.signs_from == now and rotation.retiring == ()
    assert rotation.new.state(now) == "signing"


async def test_keys_long_past_verification_are_deleted(fresh_db):
    long_ago = datetime.now(UTC) - timedelta(days=3)
    await ensure_signing_key(fresh_db, now=long_ago)
    old = (await list_keys(fresh_db))[0].kid
    await rotate_keys(fresh_db, now=long_ago, grace=timedelta(0), token_lifetime=LIFETIME)
    now = datetime.now(UTC)
    rotation = await rotate_keys(fresh_db, now=now, grace=GRACE, token_lifetime=LIFETIME)
    assert rotation.purged == (old,)
    async with fresh_db.read() as connection:
        left = set((await connection.scalars(select(signing_keys.c.kid))).all())
    assert old not in left and rotation.new.kid in left


async def test_tokens_of_the_old_key_verify_in_another_process_after_the_switch(fresh_db):
    now = datetime.now(UTC)
    await ensure_signing_key(fresh_db, now=now)
    issuing, verifying = (KeyRing(fresh_db, token_lifetime=LIFETIME) for _ in range(2))
    await issuing.load()
    await verifying.load()
    issuer = TokenIssuer(issuing, issuer="https://jobs.example", lifetime=LIFETIME)
    app = App("client", uuid.uuid4(), "app", frozenset({"elements.jobs.read.all"}))
    before = await issuer.issue(app, app.permissions, now=now)

    rotation = await rotate_keys(fresh_db, now=now, grace=timedelta(0), token_lifetime=LIFETIME)
    await anyio.sleep(0.2)  # a grace period, however short
    await issuing.load()  # as its periodic reload would
    after = await issuer.issue(app, app.permissions, now=datetime.now(UTC))
    assert jwt.get_unverified_header(after)["kid"] == rotation.new.kid
    assert jwt.get_unverified_header(before)["kid"] == rotation.retiring[0].kid

    # ``verifying`` loaded before the rotation: an unknown kid makes it reload.
    verifier = TokenVerifier(verifying, issuer="https://jobs.example")
    for token in (before, after):
        assert (await verifier.verify(token)).client_id == "client"
