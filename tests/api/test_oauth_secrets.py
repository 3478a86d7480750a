"""Client secret lifecycle: rollover with two valid secrets, expiry, removal, last use."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backupjobs.auth.apps import add_secret, describe_app, remove_secret, secrets_of
from backupjobs.store.schema import app_secrets
from tests.world import make_tenant


def secret_form(client_id, secret):
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


async def token_status(client, client_id, secret):
    response = await client.post("/connect/token", data=secret_form(client_id, secret))
    return response.status_code, response.json()


async def test_two_secrets_are_valid_during_a_rollover(client, db):
    tenant = await make_tenant(db)
    async with db.write() as connection:
        new = await add_secret(connection, tenant.client_id, years=2, now=datetime.now(UTC))
    assert (await token_status(client, tenant.client_id, tenant.secret))[0] == 200
    assert (await token_status(client, tenant.client_id, new.value))[0] == 200

    old_id = next(s.id for s in await listed(db, tenant) if s.id != new.id)
    async with db.write() as connection:
        await remove_secret(connection, tenant.client_id, old_id)
    status, body = await token_status(client, tenant.client_id, tenant.secret)
    assert status == 401 and body["error"] == "invalid_client"
    assert (await token_status(client, tenant.client_id, new.value))[0] == 200


async def listed(db, tenant):
    async with db.read() as connection:
        return await secrets_of(connection, tenant.client_id)


async def test_an_expired_secret_is_invalid_client_while_a_newer_one_works(client, db):
    tenant = await make_tenant(db)
    async with db.write() as connection:
        new = await add_secret(connection, tenant.client_id, years=1, now=datetime.now(UTC))
        await connection.execute(
            update(app_secrets)
            .where(app_secrets.c.client_id == tenant.client_id, app_secrets.c.id != new.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    status, body = await token_status(client, tenant.client_id, tenant.secret)
    assert status == 401 and body["error"] == "invalid_client"
    assert "expired" in body["error_description"]
    assert (await token_status(client, tenant.client_id, new.value))[0] == 200


async def test_a_wrong_secret_does_not_say_whether_the_client_exists(client, db):
    tenant = await make_tenant(db)
    wrong = await token_status(client, tenant.client_id, "bjs_wrong")
    unknown = await token_status(client, "no-such-client", tenant.secret)
    assert wrong == unknown
    assert wrong[0] == 401


async def test_another_apps_secret_does_not_authenticate(client, db):
    tenant, other = await make_tenant(db), await make_tenant(db)
    status, body = await token_status(client, tenant.client_id, other.secret)
    assert status == 401 and body["error"] == "invalid_client"


async def test_secret_lifetimes_are_one_to_three_years(db):
    tenant = await make_tenant(db)
    now = datetime.now(UTC)
    async with db.write() as connection:
        for years in (1, 2, 3):
            issued = await add_secret(connection, tenant.client_id, years=years, now=now)
            assert issued.expires_at == now.replace(year=now.year + years)
        for years in (0, 4):
            with pytest.raises(ValueError, match="1, 2 or 3 years"):
                await add_secret(connection, tenant.client_id, years=years, now=now)


async def test_last_use_is_recorded_per_secret_and_never_shows_the_value(client, db):
    tenant = await make_tenant(db)
    async with db.write() as connection:
        spare = await add_secret(connection, tenant.client_id, years=1, now=datetime.now(UTC))
    before = datetime.now(UTC)
    assert (await token_status(client, tenant.client_id, tenant.secret))[0] == 200
    used = {s.id: s.last_used_at for s in await listed(db, tenant)}
    assert used[spare.id] is None
    assert next(v for k, v in used.items() if k != spare.id) >= before
    async with db.read() as connection:
        details = await describe_app(connection, tenant.client_id)
    assert tenant.secret not in repr(details) and spare.value not in repr(details)
    assert [s.id for s in details.secrets] == list(used)
