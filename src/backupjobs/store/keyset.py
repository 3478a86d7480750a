"""Keyset paging: a page starts strictly after the last row of the page before it.

Its cost does not grow with how deep the page is (no OFFSET): the database seeks to the
position in the index that serves the order and reads ``limit + 1`` rows (the extra one
says whether more remain). Every list of ``/api/v1`` pages this way, with the position
carried in a signed cursor (:mod:`backupjobs.infra.cursors`).

>>> # order = (SortKey(jobs.c.sort_time, "sort_time", descending=True),
>>> #          SortKey(jobs.c.job_id, "job_id", descending=True))
>>> # statement = keyset_select(select(...), order, position, limit=100)
>>> # rows, more = split_page((await connection.execute(statement)).all(), 100)
>>> # next_position = position_of(rows[-1], order) if more else None

The sort keys must never be NULL, and together they must be unique (end with a key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of a keyset order: an expression, the name it is selected under (its label
    in the statement's columns), and its direction."""

    expression: ColumnElement[Any]
    name: str
    descending: bool = False

    def ordering(self) -> ColumnElement[Any]:
        return self.expression.desc() if self.descending else self.expression.asc()

    def value(self, value: Any) -> ColumnElement[Any]:
        # Typed as the expression, so that a type's own binding applies (times on SQLite).
        return bindparam(None, value, type_=self.expression.type)


def seek(order: Sequence[SortKey], position: Sequence[Any]) -> ColumnElement[bool]:
    """Rows that come strictly after ``position`` (one value per key) in ``order``."""
    if len(position) != len(order):
        raise ValueError(f"a position of {len(order)} values is needed, not {len(position)}")
    if len({key.descending for key in order}) == 1:
        # One direction: a row-value comparison, which an index on the keys serves.
        keys = tuple_(*(key.expression for key in order))
        values = tuple_(*(key.value(value) for key, value in zip(order, position, strict=True)))
        return keys < values if order[0].descending else keys > values
    # Mixed directions: (k1 after v1) or (k1 = v1 and k2 after v2) or ...
    alternatives = []
    for index, key in enumerate(order):
        value = key.value(position[index])
        after = key.expression < value if key.descending else key.expression > value
        equal_before = [
            earlier.expression == earlier.value(position[position_index])
            for position_index, earlier in enumerate(order[:index])
        ]
        alternatives.append(and_(*equal_before, after))
    return or_(*alternatives)


def keyset_select(
    statement: Select[Any],
    order: Sequence[SortKey],
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> Select[Any]:
    """``statement`` in ``order``, from after ``position`` (None: from the start), with
    ``limit + 1`` rows at most (see :func:`split_page`)."""
    if position is not None:
        statement = statement.where(seek(order, position))
    return statement.order_by(*(key.ordering() for key in order)).limit(limit + 1)


def split_page(rows: Sequence[R], limit: int) -> tuple[Sequence[R], bool]:
    """The page of rows read by :func:`keyset_select`, and whether more remain."""
    return rows[:limit], len(rows) > limit


def position_of(row: Any, order: Sequence[SortKey]) -> list[Any]:
    """The position of ``row`` (a result row holding each key under its name)."""
    mapping = row._mapping
    return [mapping[key.name] for key in order]


async def read_page(
    connection: AsyncConnection,
    statement: Select[Any],
    order: Sequence[SortKey],
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> tuple[Sequence[Any], list[Any] | None]:
    """A page of ``statement`` in ``order`` after ``position``, and the position of its
    last row if more remain (None: the last page)."""
    rows, more = split_page(
        (await connection.execute(keyset_select(statement, order, position, limit=limit))).all(),
        limit,
    )
    return rows, position_of(rows[-1], order) if more and rows else None


def page_of(
    items: Sequence[R],
    key: Callable[[R], tuple[Any, ...]],
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> tuple[Sequence[R], list[Any] | None]:
    """The same paging over ``items`` already in ``key`` order (a list computed whole,
    such as the summary's customers): those after ``position``, ``limit`` at most."""
    start = 0
    if position is not None:
        after = tuple(position)
        start = next((index for index, item in enumerate(items) if key(item) > after), len(items))
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, list(key(page[-1])) if more and page else None
