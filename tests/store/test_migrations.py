"""The migrations build exactly the schema the code declares (``store/schema.py``)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backupjobs.store.schema import metadata


async def test_the_migrated_database_matches_the_declared_schema(db):
    def differences(sync_connection):
        context = MigrationContext.configure(
            sync_connection, opts={"compare_type": True, "compare_server_default": False}
        )
        return compare_metadata(context, metadata)

    async with db.read() as connection:
        found = await connection.run_sync(differences)
    assert found == []
