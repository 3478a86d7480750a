"""Alembic migrations, run by :meth:`backupjobs.store.Database.migrate`.

Concurrent starters (several workers, several hosts) are serialized: PostgreSQL by an
advisory lock, SQLite by the write lock, so each migration runs once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from backupjobs.store.database import Database

_HERE = Path(__file__).parent
# Any constant works; it only has to be the same in every process.
_MIGRATION_LOCK = 0x6261636B7570  # "backup"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(db: Database) -> None:
    async with db.write() as connection:
        if not db.is_sqlite:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)
