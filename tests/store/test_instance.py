"""The deployment's secrets: made once, the same for every process that asks."""

import asyncio

from backupjobs.store.database import Database
from backupjobs.store.instance import SECRET_BYTES, instance_secret


async def test_every_process_gets_the_same_secret(db, settings):
    other = Database(settings.database_url)
    try:
        first, *rest = await asyncio.gather(
            instance_secret(db, "test-shared"),
            instance_secret(other, "test-shared"),
            instance_secret(db, "test-shared"),
        )
        assert len(first) == SECRET_BYTES
        assert rest == [first, first]
        assert await instance_secret(other, "test-shared") == first
    finally:
        await other.dispose()


async def test_secrets_of_different_names_differ(db):
    assert await instance_secret(db, "test-a") != await instance_secret(db, "test-b")
