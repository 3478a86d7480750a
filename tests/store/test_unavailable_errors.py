import asyncpg
import pytest
import sqlalchemy.exc

from backupjobs.store.database import database_unavailable


def wrapped(cause: BaseException) -> sqlalchemy.exc.DBAPIError:
    orig = Exception(str(cause))
    orig.__cause__ = cause
    return sqlalchemy.exc.DBAPIError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        sqlalchemy.exc.TimeoutError("pool exhausted"),
        wrapped(asyncpg.exceptions.CannotConnectNowError("starting up")),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating")),
        wrapped(asyncpg.exceptions.TooManyConnectionsError("too many")),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("closed")),
        sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked")),
    ],
)
def test_outages_and_busy_databases_are_unavailable(error):
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        wrapped(asyncpg.exceptions.UndefinedTableError("no such table")),
        sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table: jobs")),
        ValueError("bug"),
    ],
)
def test_bugs_are_not_unavailability(error):
    assert not database_unavailable(error)
