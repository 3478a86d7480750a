"""A SQLite database just before a migration: for the tests of what a migration does to the
rows already there."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import BigInteger, Connection, Integer, Table, Uuid, column, create_engine, table

from backupjobs.store.migrations import alembic_config
from backupjobs.store.schema import customers, partners


@contextmanager
def just_before(path: Path, revision: str) -> Iterator[tuple[Connection, Callable[..., None]]]:
    """A new SQLite file at ``path`` migrated up to just before ``revision``, in one
    transaction: write the older rows on the connection, then call the second item to
    migrate to head (or to the revision it is given)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            before = ScriptDirectory.from_config(config).get_revision(revision)
            assert before is not None, revision
            command.upgrade(config, before.down_revision)
            yield connection, lambda to="head": command.upgrade(config, to)
    finally:
        engine.dispose()


def by_status_rows(name: str, unit: str) -> Table:
    """``customer_days`` or ``customer_blocks`` as they were before
    0016_outcomes_by_status_columns: a row per status."""
    return table(
        name,
        column("partner_id", Uuid()),
        column("customer_id", Uuid()),
        column(unit, BigInteger()),
        column("status", Integer()),
        column("jobs", BigInteger()),
        column("backup_size_bytes", BigInteger()),
        column("duration_seconds", BigInteger()),
    )  # type: ignore[return-value]


def two_customers(connection: Connection, at: datetime) -> tuple[UUID, UUID, dict[str, Any]]:
    """A partner with customers ``one`` and ``other``, created at ``at``, on an older
    database; and a row of ``backup_services`` of ``one``'s, enabled at ``at``, that never
    ran (give it a ``job_module`` and what it ran)."""
    partner, one, other = uuid4(), uuid4(), uuid4()
    connection.execute(partners.insert().values(id=partner, name="P", created_at=at))
    connection.execute(
        customers.insert(),
        [
            {"partner_id": partner, "id": c, "name": n, "created_at": at}
            for c, n in ((one, "one"), (other, "other"))
        ],
    )
    service = {"partner_id": partner, "customer_id": one, "job_type": 1, "enabled_at": at,
               "disabled_at": None, "latest_job_id": None, "latest_status": None,
               "latest_backup_size_bytes": None, "latest_last_modify_time": None,
               "last_success_time": None}  # fmt: skip
    return one, other, service
