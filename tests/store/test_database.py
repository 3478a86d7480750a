"""The database's URLs: the job pages may read from a replica, everything else from the
database itself; and the schema its migrations build."""

import asyncio
import uuid
from datetime import UTC, datetime

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from backupjobs.readmodel import ReadModel
from backupjobs.store import directory
from backupjobs.store.database import Database, DatabaseUrlError
from backupjobs.store.schema import apps, metadata
from backupjobs.store.scope import TenantScope
from tests.jobs import as_state
from tests.services import create_postgres_database, drop_postgres_database


@pytest.fixture
def two_postgres_databases():
    urls = [create_postgres_database(), create_postgres_database()]
    yield urls
    for url in urls:
        drop_postgres_database(url)


def test_job_pages_read_from_the_read_url(two_postgres_databases):
    primary_url, replica_url = two_postgres_databases

    async def scenario():
        replica = Database(replica_url)
        db = Database(primary_url, read_url=replica_url)
        read_model = ReadModel(db)
        try:
            await replica.migrate()
            await db.migrate()
            await read_model.start()
            assert read_model.changes is None  # a replica is behind the primary's notifications
            now = datetime.now(UTC)
            # The same customer in both databases, with a service only in the "replica".
            customer = uuid.uuid4()
            for target in (db, replica):
                async with target.write() as connection:
                    partner = await directory.create_partner(connection, "P", now=now)
                    await directory.create_customer(
                        connection, partner, "C", customer_id=customer, now=now
                    )
                    await connection.execute(
                        apps.insert().values(
                            partner_id=partner, client_id=f"app-{partner}", name="A",
                            permissions="x", all_customers=True, created_at=now,
                        )
                    )  # fmt: skip
                    if target is replica:
                        await directory.enable_service(connection, customer, 7, 302, now=now)
                        replica_partner = partner
            scope = TenantScope(replica_partner, f"app-{replica_partner}")
            page = await read_model.job_page(scope, customer, rendering=as_state)
            assert page is not None
            assert [
                (row["job_type"], row["job_module"]) for row in msgspec.json.decode(page.rows)
            ] == [(7, 302)]
        finally:
            await read_model.close()
            await db.dispose()
            await replica.dispose()

    asyncio.run(scenario())


def test_a_read_url_needs_postgresql(tmp_path):
    with pytest.raises(DatabaseUrlError, match="PostgreSQL"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", read_url="postgresql://u@h/db")
    with pytest.raises(DatabaseUrlError, match="PostgreSQL"):
        Database("postgresql://u@h/db", read_url=f"sqlite:///{tmp_path / 'x.db'}")


async def test_the_migrations_build_the_schema_the_code_declares(db):
    """Alembic's comparison of the migrated database with ``store.schema``: no difference
    (a column added to one and not the other, a type, an index)."""

    def differences(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with db.read() as connection:
        assert await connection.run_sync(differences) == []


async def test_every_declared_index_is_in_the_migrated_database(db):
    """By name, expression indexes included, which Alembic's comparison skips on SQLite
    (it cannot reflect them): a migration that rebuilds a SQLite table loses them."""
    declared = {index.name for table in metadata.tables.values() for index in table.indexes}
    listing = (
        "SELECT name FROM sqlite_master WHERE type = 'index'"
        if db.is_sqlite
        else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    )
    async with db.read() as connection:
        present = set((await connection.execute(text(listing))).scalars())
    assert declared - present == set()
