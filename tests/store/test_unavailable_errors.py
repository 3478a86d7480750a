import socket

import asyncpg
import pytest
import sqlalchemy.exc
from jinja2 import TemplateNotFound

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


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(2, "No such file or directory"),
        PermissionError(13, "Permission denied"),
        IsADirectoryError(21, "Is a directory"),
        TemplateNotFound("dashboard/missing.html"),
        OSError("disk full"),
    ],
)
def test_a_file_error_outside_the_driver_is_not_unavailability(error):
    with pytest.raises(OSError) as raised:  # with a traceback, as a handler's would have
        raise error
    assert not database_unavailable(raised.value)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(),
        BrokenPipeError(),
        socket.gaierror(-2, "Name or service not known"),
        wrapped(ConnectionResetError()),
    ],
)
def test_network_errors_are_unavailable(error):
    assert database_unavailable(error)


async def test_an_os_error_the_driver_raises_connecting_is_unavailable(tmp_path):
    # asyncpg: a Unix socket that is gone is a FileNotFoundError.
    with pytest.raises(FileNotFoundError) as raised:
        await asyncpg.connect(host=str(tmp_path / "no-server"), user="root", database="test")
    assert database_unavailable(raised.value)
