"""The database: one code path for SQLite and PostgreSQL.

>>> db = Database("sqlite:///backupjobs.db")
>>> db.dialect
'sqlite'

SQLite runs in WAL mode with full fsync on commit (an acknowledged write survives a crash
of the process or the machine) and a busy timeout; writers take the write lock when their
transaction begins (``BEGIN IMMEDIATE``) so that two writers queue instead of failing.

The hot reads (the job pages) are :class:`~backupjobs.store.reads.Query` objects run by
:meth:`Database.fetch`: on PostgreSQL straight on asyncpg, many calls per round trip under
load (see :mod:`backupjobs.infra.read_connections`).

Whoever keeps what it read (the read model) hears of this process's commits that changed
a table it watches (:data:`WATCHED_TABLES`) through :meth:`Database.after_commit`, and of
every process's through PostgreSQL notifications on a connection of its own
(:attr:`Database.listen_options`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import sqlalchemy.exc
from sqlalchemy import Integer, event, make_url, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from backupjobs.infra.read_connections import ReadConnections
from backupjobs.store.reads import Query

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)
# The write lock of a SQLite transaction, chosen per connection by execution option.
_SQLITE_BEGIN = "backupjobs_sqlite_begin"

#: The tables whose changes the read model hears of (the change feed's triggers, migration
#: ``0004_change_feed``): only a transaction that wrote one of them is announced to the
#: :meth:`Database.after_commit` listeners.
WATCHED_TABLES = ("customers", "apps", "app_customers")
_WRITES_WATCHED = re.compile(
    r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+"
    rf"(?:{'|'.join(WATCHED_TABLES)})\b",
    re.IGNORECASE,
)
# Set in a connection's ``info`` once its transaction wrote a watched table.
_WROTE_WATCHED = "backupjobs_wrote_watched"


# SQLSTATE classes meaning "cannot reach or use the server now": connection exception,
# insufficient resources, operator intervention (shutdown, starting up).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open")
# OSErrors about reaching a server, whoever raised them (``TimeoutError`` is one too).
_UNREACHABLE = ConnectionError | TimeoutError | socket.gaierror | socket.herror
# The drivers' packages: any OSError raised inside them is about the database's server.
_DRIVER_MODULES = ("asyncpg.", "aiosqlite.")
# SQLSTATEs of a transaction PostgreSQL aborted so that others could go on: deadlock
# detected, serialization failure. Run again, it succeeds.
_RETRY_SQLSTATES = ("40P01", "40001")
#: Runs of a transaction at most (:meth:`Database.transaction`).
TRANSACTION_ATTEMPTS = 3

T = TypeVar("T")

# A read through the job pages' connections (and a lane of their own), for readiness.
_READY = Query(lambda p: select(p["ready"].label("ready")), {"ready": Integer()})


def database_unavailable(error: BaseException) -> bool:
    """True if ``error`` says the database cannot be reached or is busy, so that a retry
    later may succeed (as opposed to a request or a program that is wrong).

    An ``OSError`` counts only when it is about reaching a server: a connection error
    (refused, reset, aborted), a name that does not resolve, a timeout, or any ``OSError``
    the driver raised while connecting (asyncpg raises ``FileNotFoundError`` for a Unix
    socket that is gone, and a bare ``OSError`` when every address refused). Any other
    ``OSError`` (a file a handler could not open, Jinja's ``TemplateNotFound``) is a fault
    of this program, answered 500 and never logged as an outage.
    """
    if isinstance(
        error, _UNREACHABLE | sqlalchemy.exc.TimeoutError | asyncpg.PostgresConnectionError
    ):
        return True
    if isinstance(error, OSError):
        return _raised_by_driver(error)
    if isinstance(error, asyncpg.InterfaceError | asyncpg.PostgresError):
        return _unavailable_sqlstate(error)
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        cause = error.orig.__cause__ if error.orig is not None else None
        if cause is not None and cause is not error:
            return database_unavailable(cause)
        message = str(error.orig).lower()
        return any(busy in message for busy in _SQLITE_BUSY)
    return False


def _raised_by_driver(error: OSError) -> bool:
    """Whether ``error`` was raised inside a database driver (a frame of its modules)."""
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def _sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a PostgreSQL error, raw or as SQLAlchemy wraps it ("" if none)."""
    orig = getattr(error, "orig", None)
    for candidate in (error, orig, getattr(orig, "__cause__", None)):
        sqlstate = getattr(candidate, "sqlstate", None)
        if sqlstate:
            return str(sqlstate)
    return ""


def _unavailable_sqlstate(error: Exception) -> bool:
    if isinstance(error, asyncpg.InterfaceError):
        return isinstance(error, asyncpg.exceptions.ConnectionDoesNotExistError)
    return _sqlstate(error)[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


class DatabaseUrlError(ValueError):
    """A database URL this service cannot use."""


def driver_url(url: str) -> URL:
    """The SQLAlchemy URL, with this service's driver, for a plain database URL.

    ``sqlite:///path`` uses aiosqlite; ``postgresql://user@host:port/db`` (or
    ``postgres://``) uses asyncpg. A URL that already names a driver is kept.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


class Database:
    """An engine plus the transaction discipline this service needs.

    ``read()`` gives a connection for queries; ``write()`` a transaction that commits when
    the block ends without error, and only then returns.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        read_url: str = "",
        timeout: float | None = None,
    ) -> None:
        self.url = driver_url(url)
        self.dialect = self.url.get_backend_name()
        #: Seconds a request waits on PostgreSQL at most: for a connection (from either
        #: pool, or a new one) and for a job page's read; past it, ``TimeoutError``, which
        #: :func:`database_unavailable` counts as unavailable. None: no deadline of ours.
        self.timeout = timeout
        options: dict[str, Any] = {}
        if self.dialect == "postgresql":
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            if timeout is not None:
                options.update(pool_timeout=timeout, connect_args={"timeout": timeout})
        else:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        self._dialect = self.engine.dialect  # a proxied attribute: read once
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        _note_watched_writes(self.engine)
        self._reads: ReadConnections | None = None
        self._after_commit: list[Callable[[], None]] = []
        #: asyncpg connection options for listening to the notifications of what
        #: :meth:`fetch` reads (PostgreSQL, pages read from the primary); None on SQLite,
        #: and with a read replica, whose content lags the primary's notifications.
        self.listen_options: dict[str, Any] | None = None
        if read_url and self.dialect != "postgresql":
            raise DatabaseUrlError("a read replica needs PostgreSQL as the database")
        if self.dialect == "postgresql":
            # The job pages may read from a replica; everything else uses ``url``.
            reads_url = driver_url(read_url) if read_url else self.url
            if reads_url.get_backend_name() != "postgresql":
                raise DatabaseUrlError("a read URL must name PostgreSQL, like the database's")
            _, connect_options = self.engine.dialect.create_connect_args(reads_url)
            for sqlalchemy_only in ("prepared_statement_cache_size", "async_fallback"):
                connect_options.pop(sqlalchemy_only, None)
            self._reads = ReadConnections(
                dict(connect_options), size=pool_size, connect_timeout=timeout
            )
            if not read_url:
                self.listen_options = dict(connect_options)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block ends without error; then, if it wrote a
        table of :data:`WATCHED_TABLES`, the :meth:`after_commit` listeners are told.

        Only those: the webhook deliverer claims what is due once a second in every
        process, and when each commit made the read model forget every customer's
        revision, the pages asked PostgreSQL again (v3 0.77x the ceiling down to 0.62x,
        Modern 0.81x to 0.59x: ``docs/scaling.md``, 2026-12-03). Statements are judged by
        their SQL (:func:`writes_watched`), so no writer has to remember to say so; one sent
        on the driver's own connection is not seen, and must not write those tables.
        """
        async with self.engine.connect() as connection:
            connection.info[_WROTE_WATCHED] = False
            try:
                if self.is_sqlite:
                    await connection.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
                async with connection.begin():
                    yield connection
            finally:
                wrote_watched = connection.info.pop(_WROTE_WATCHED, False)
        if wrote_watched:
            for listener in self._after_commit:
                listener()

    def after_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each transaction of :meth:`write` (and so of
        :meth:`transaction`) that wrote a table of :data:`WATCHED_TABLES` has committed,
        before the block's caller goes on.

        >>> # db.after_commit(read_model.forget_all)   # what it kept may have just changed
        """
        self._after_commit.append(listener)

    async def transaction(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        attempts: int = TRANSACTION_ATTEMPTS,
    ) -> T:
        """``await work(connection)`` in a :meth:`write` transaction; run again from the
        start, in a new transaction, when PostgreSQL aborted it to resolve a deadlock or a
        serialization failure (``work`` must have no effect outside the transaction).

        >>> # result = await db.transaction(lambda c: ingestor.ingest(c, scope, records, now=now))
        """
        attempt = 1
        while True:
            try:
                async with self.write() as connection:
                    return await work(connection)
            except sqlalchemy.exc.DBAPIError as error:
                state = _sqlstate(error)
                if attempt >= attempts or state not in _RETRY_SQLSTATES:
                    raise
            attempt += 1

    async def fetch(self, query: Query, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of a read-only ``query`` for ``params`` (a missing one is NULL)."""
        if self._reads is None:
            values = {name: params.get(name) for name in query.names}
            async with self.read() as connection:
                rows: Sequence[Sequence[Any]] = (
                    await connection.execute(query.statement, values)
                ).all()
            return rows
        batched = query.batched(self._dialect)
        if self.timeout is None:
            return await self._reads.fetch_call(batched, query.arguments(params))
        async with asyncio.timeout(self.timeout):
            return await self._reads.fetch_call(batched, query.arguments(params))

    async def ping(self) -> None:
        """Raise unless the database answers a statement from the pool and, on
        PostgreSQL, one read through the job pages' connections, within :attr:`timeout`."""
        async with asyncio.timeout(self.timeout):
            async with self.read() as connection:
                await connection.execute(text("SELECT 1"))
            if self._reads is not None:
                await self.fetch(_READY, {"ready": 1})

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (safe to run concurrently)."""
        from backupjobs.store.migrations import upgrade  # noqa: PLC0415 - alembic is slow to import

        await upgrade(self)

    async def dispose(self) -> None:
        if self._reads is not None:
            await self._reads.close()
        await self.engine.dispose()

    def describe(self) -> str:
        """The URL without its password, for logs and messages."""
        return self.url.render_as_string(hide_password=True)


@functools.lru_cache(maxsize=4096)
def writes_watched(statement: str) -> bool:
    """Whether the SQL ``statement`` may write a table of :data:`WATCHED_TABLES`.

    >>> writes_watched("UPDATE customers SET name=$1 WHERE customers.id = $2")
    True
    >>> writes_watched("SELECT customers.id FROM customers FOR UPDATE")
    False
    """
    return _WRITES_WATCHED.search(statement) is not None


def _note_watched_writes(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_execute(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Only inside write(), which set the key; the SQL's few distinct texts are cached.
        if _WROTE_WATCHED in connection.info and writes_watched(statement):
            connection.info[_WROTE_WATCHED] = True


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN out of the driver's hands so that ``_on_begin`` chooses the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
