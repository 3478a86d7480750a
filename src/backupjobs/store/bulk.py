"""Many rows per statement, for ingestion: one JSON parameter on PostgreSQL, lists on SQLite.

PostgreSQL gets a batch of rows as one JSON text (``json_to_recordset``): encoding it is
one msgspec call, where a thousand rows as arrays would cost the client a type check and
a conversion per value. Rows are looked up by key one key at a time (``LATERAL ...
LIMIT 1``), which uses the key's index whatever the table statistics say: right after a
bulk load they can be far off, and a plan that scans a partner's whole history makes each
batch slower than the last. SQLite takes the same statements with ``executemany`` and
``IN`` lists.

Values must be JSON-able by msgspec as PostgreSQL reads them back: numbers, strings,
UUIDs, and timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    TableValuedAlias,
    Text,
    any_,
    bindparam,
    cast,
    column,
    exists,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from backupjobs.infra.cache import BoundedCache

_ROWS = "rows_json"
#: The parameter of the keys of :func:`keyed_statement` on SQLite (an expanding IN).
_KEYS = "keyed_keys"
_encoder = msgspec.json.Encoder()


def _is_postgresql(connection: AsyncConnection) -> bool:
    return connection.dialect.name == "postgresql"


def _recordset(
    columns: Mapping[str, ColumnElement[Any]], name: str, parameter: str = _ROWS
) -> TableValuedAlias:
    """The rows of the JSON parameter ``parameter``, with ``columns``' names and types."""
    given = cast(bindparam(parameter, type_=Text()), postgresql.JSON())
    return (
        func.json_to_recordset(given)
        .table_valued(*(column(key, c.type) for key, c in columns.items()))
        .render_derived(name=name, with_types=True)
    )


def recordset(
    connection: AsyncConnection, columns: Mapping[str, ColumnElement[Any]], rows: Sequence[Any]
) -> tuple[TableValuedAlias, dict[str, Any]]:
    """PostgreSQL: ``rows`` (tuples in the order of ``columns``) as a table named
    ``wanted``, with ``columns``' names and types, and its parameters."""
    names = list(columns)
    given = [dict(zip(names, values, strict=True)) for values in rows]
    return _recordset(columns, "wanted"), {_ROWS: _encoder.encode(given).decode()}


def keyed(
    connection: AsyncConnection,
    columns: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    key: Sequence[ColumnElement[Any]],
    keys: Sequence[tuple[Any, ...]],
) -> tuple[Select[Any], dict[str, Any]]:
    """A select of the rows (``columns``) matching ``where`` whose ``key`` columns equal one
    of ``keys`` (on PostgreSQL in the order of ``keys``), and its parameters; ``key`` must
    be unique under ``where``."""
    statement = keyed_statement(connection, columns, where, key)
    return statement, keys_parameters(connection, len(key), keys)


def keyed_statement(
    connection: AsyncConnection,
    columns: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    key: Sequence[ColumnElement[Any]],
) -> Select[Any]:
    """:func:`keyed`'s select, the keys a parameter (:func:`keys_parameters`): with
    ``columns`` and ``where`` holding no value but bound parameters, a statement to
    build once (:func:`built`)."""
    if not _is_postgresql(connection):
        return select(*columns).where(*where, tuple_(*key).in_(bindparam(_KEYS, expanding=True)))
    names = _key_names(len(key))
    wanted = _recordset(dict(zip(names, key, strict=True)), "wanted")
    found = (
        select(*columns)
        .where(*where, *(c == wanted.c[name] for c, name in zip(key, names, strict=True)))
        .limit(1)
        .lateral("found")
    )
    return select(*found.c).select_from(wanted.join(found, true()))


def keys_parameters(
    connection: AsyncConnection, key_count: int, keys: Sequence[tuple[Any, ...]]
) -> dict[str, Any]:
    """The parameter of :func:`keyed_statement`'s keys."""
    if not _is_postgresql(connection):
        return {_KEYS: list(keys)}
    names = _key_names(key_count)
    rows = [dict(zip(names, values, strict=True)) for values in keys]
    return {_ROWS: _encoder.encode(rows).decode()}


def _key_names(count: int) -> list[str]:
    return [f"key_{position}" for position in range(count)]


async def find(
    connection: AsyncConnection,
    columns: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    key: Sequence[ColumnElement[Any]],
    keys: Sequence[tuple[Any, ...]],
) -> Sequence[Any]:
    """The rows of :func:`keyed`."""
    if not keys:
        return []
    statement, params = keyed(connection, columns, where, key, keys)
    rows: Sequence[Any] = (await connection.execute(statement, params)).all()
    return rows


def dialect_insert(connection: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, with ON CONFLICT (PostgreSQL's and SQLite's share it)."""
    return (postgresql if _is_postgresql(connection) else sqlite).insert(table)


def one_of(
    connection: AsyncConnection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column`` equals one of ``values``: ``= ANY(array)`` on PostgreSQL (one parameter),
    ``IN (...)`` on SQLite. For a column with an index of its own."""
    if not _is_postgresql(connection):
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def one_of_parameter(
    connection: AsyncConnection, column: ColumnElement[Any], name: str
) -> ColumnElement[bool]:
    """:func:`one_of` over the parameter ``name`` (a list of values), for a statement
    built once (:func:`built`)."""
    if not _is_postgresql(connection):
        return column.in_(bindparam(name, expanding=True))
    return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))


async def insert_rows(
    connection: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    complete: Callable[[Any], Insert] = lambda insert: insert,
    *,
    new_only: Sequence[str] = (),
) -> CursorResult[Any]:
    """INSERT ``rows`` (mappings with the same keys) into ``table``; ``complete`` adds the
    ON CONFLICT and RETURNING clauses to the dialect's own insert construct (PostgreSQL's
    or SQLite's, which share ``excluded`` and ``on_conflict_*``).

    ``new_only`` (key columns, with ``on_conflict_do_nothing``): rows whose key exists
    are left out first, so that PostgreSQL does not wait for a concurrent transaction
    that holds an existing row (as ON CONFLICT would, to see how it ends).

    The statement is built once per process for each table, row keys, ``complete`` (its
    code and what it closes over, which must be hashable: values, tables; a construct
    made anew for each call would build it again each time) and ``new_only``
    (:func:`built`).
    """
    names = tuple(rows[0])
    postgresql_ = _is_postgresql(connection)
    statement = _built_insert(postgresql_, table, names, complete, tuple(new_only))
    if not postgresql_:
        return await connection.execute(statement, rows)
    return await connection.execute(statement, {_ROWS: _encoder.encode(rows).decode()})


#: One insert of :func:`execute_after_rows`: the table, its rows, its ``complete``.
RowsInsert = tuple[Table, Sequence[Mapping[str, Any]], Callable[[Any], Insert]]


async def execute_after_rows(
    connection: AsyncConnection,
    statement: Any,
    params: dict[str, Any],
    inserts: Sequence[RowsInsert],
) -> None:
    """:func:`insert_rows` for each of ``inserts`` that has rows, then ``statement`` (built
    once, :func:`built`; it neither reads nor writes their tables) with ``params``: on
    PostgreSQL all in one statement, the inserts its data-modifying CTEs; on SQLite one
    after another. ``complete`` adds ON CONFLICT only: no row is read back.

    What one round trip buys: a transaction holding row locks that every concurrent
    writer waits for (a customer's) holds them until its next statement has been sent,
    which waits for the process's event loop, busy with other requests; statements sent
    together are waited for once (``docs/scaling.md``, "Ingestion at volume").
    """
    inserts = [insert for insert in inserts if insert[1]]
    if not _is_postgresql(connection) or not inserts:
        for table, rows, complete in inserts:
            await insert_rows(connection, table, rows, complete)
        await connection.execute(statement, params)
        return
    shapes = tuple(
        (table, tuple(rows[0]), *_known_by(complete)) for table, rows, complete in inserts
    )

    def build() -> Any:
        together = statement
        for position, (table, names, *_) in enumerate(shapes):
            complete = inserts[position][2]
            parameter = f"{_ROWS}_{position}"
            written = _insert_from_json(table, names, complete, (), parameter)
            together = together.add_cte(written.cte(f"written_{position}"))
        return together

    given = {
        f"{_ROWS}_{position}": _encoder.encode(rows).decode()
        for position, (_, rows, _) in enumerate(inserts)
    }
    await connection.execute(built((execute_after_rows, statement, shapes), build), params | given)


def _known_by(complete: Callable[[Any], Insert]) -> tuple[Any, tuple[Any, ...]]:
    """What a ``complete`` function is known by in :func:`built`'s keys: its code and the
    values it closes over (a lambda or a nested function is a new object each time its
    definition runs, with the same code)."""
    return complete.__code__, tuple(cell.cell_contents for cell in complete.__closure__ or ())


def _insert_from_json(
    table: Table,
    names: tuple[str, ...],
    complete: Callable[[Any], Insert],
    new_only: tuple[str, ...],
    parameter: str = _ROWS,
) -> Insert:
    """PostgreSQL: the INSERT of the rows of the JSON parameter ``parameter``."""
    given = _recordset({name: table.c[name] for name in names}, "given", parameter)
    source = select(given)
    if new_only:
        source = source.where(~exists().where(*(table.c[k] == given.c[k] for k in new_only)))
    return complete(postgresql.insert(table).from_select(names, source))


def _built_insert(
    postgresql_: bool,
    table: Table,
    names: tuple[str, ...],
    complete: Callable[[Any], Insert],
    new_only: tuple[str, ...],
) -> Insert:
    """:func:`insert_rows`' statement, built on the first call for its key (``complete``
    known by :func:`_known_by`)."""
    key = (postgresql_, table, names, *_known_by(complete), new_only)

    def build() -> Insert:
        if not postgresql_:
            return complete(sqlite.insert(table))
        return _insert_from_json(table, names, complete, new_only)

    return built(key, build)


#: Statements built once per process (:func:`built`), by what they were built from.
_BUILT: BoundedCache[Hashable, Any] = BoundedCache(256)

_T = TypeVar("_T")


def built(key: Hashable, build: Callable[[], _T]) -> _T:
    """The statement ``build`` makes, made on the first call for ``key`` and kept.

    Building a statement costs more than running SQLAlchemy's cached compilation of it:
    the history's upsert (20 columns, ON CONFLICT's ``excluded``, a guard) 2.7 ms of the
    process's CPU, the services' latest jobs' upsert 2.5-4.5 ms, the customers' summary
    2-3.4 ms, whatever the batch's size: with those of the other statements, about 10 us
    a job of a batch of 1,000, of 70-90 us a job of all ingestion's Python (2026-12-04,
    docs/scaling.md "Ingestion at volume"). A statement kept this way
    holds no value but bound parameters given at each execution, so one serves every
    batch; ``key`` names everything else it was built from.
    """
    statement: _T | None = _BUILT.get(key)
    if statement is None:
        statement = _BUILT.put(key, build())
    return statement
