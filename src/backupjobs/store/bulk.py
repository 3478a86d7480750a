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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

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

_ROWS = "rows_json"
_encoder = msgspec.json.Encoder()


def _is_postgresql(connection: AsyncConnection) -> bool:
    return connection.dialect.name == "postgresql"


def _recordset(columns: Mapping[str, ColumnElement[Any]], name: str) -> TableValuedAlias:
    """The rows of the JSON parameter, with ``columns``' names and types."""
    given = cast(bindparam(_ROWS, type_=Text()), postgresql.JSON())
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
    if not _is_postgresql(connection):
        return select(*columns).where(*where, tuple_(*key).in_(keys)), {}
    names = [f"key_{position}" for position in range(len(key))]
    wanted = _recordset(dict(zip(names, key, strict=True)), "wanted")
    found = (
        select(*columns)
        .where(*where, *(c == wanted.c[name] for c, name in zip(key, names, strict=True)))
        .limit(1)
        .lateral("found")
    )
    rows = [dict(zip(names, values, strict=True)) for values in keys]
    statement = select(*found.c).select_from(wanted.join(found, true()))
    return statement, {_ROWS: _encoder.encode(rows).decode()}


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
    """
    names = list(rows[0])
    if not _is_postgresql(connection):
        return await connection.execute(complete(sqlite.insert(table)), rows)
    given = _recordset({name: table.c[name] for name in names}, "given")
    source = select(given)
    if new_only:
        source = source.where(~exists().where(*(table.c[k] == given.c[k] for k in new_only)))
    statement = complete(postgresql.insert(table).from_select(names, source))
    return await connection.execute(statement, {_ROWS: _encoder.encode(rows).decode()})
