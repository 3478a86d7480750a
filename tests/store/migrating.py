"""A SQLite database just before a migration: for the tests of what a migration does to the
rows already there."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine

from backupjobs.store.migrations import alembic_config


@contextmanager
def just_before(path: Path, revision: str) -> Iterator[tuple[Connection, Callable[[], None]]]:
    """A new SQLite file at ``path`` migrated up to just before ``revision``, in one
    transaction: write the older rows on the connection, then call the second item to
    migrate to head."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            before = ScriptDirectory.from_config(config).get_revision(revision)
            assert before is not None, revision
            command.upgrade(config, before.down_revision)
            yield connection, lambda: command.upgrade(config, "head")
    finally:
        engine.dispose()
