"""One filter-and-page helper for every offset-paged collection.

A page and the total number of matching rows come back from one statement, so a page
costs one round trip whatever the endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

TOTAL = "total_count_"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one page and the number of matching rows over all pages."""

    rows: Sequence[T]
    total: int


def offset_page_statement(
    base: Select[Any],
    *,
    order_by: Sequence[ColumnElement[Any]],
    offset: int,
    limit: int,
) -> Select[Any]:
    """``base`` cut to one page, each row carrying the total in column ``TOTAL``; one row
    with the total alone when the page is empty.

    The first column of ``base`` must never be NULL: it tells real rows from the one row
    of an empty page.
    """
    counted = select(func.count().label(TOTAL)).select_from(base.order_by(None).subquery())
    counted_sub = counted.subquery("counted")
    page = base.order_by(*order_by).limit(limit).offset(offset).subquery("page")
    page_order = [page.c[column.key] for column in order_by if column.key is not None]
    return (
        select(counted_sub.c[TOTAL], *page.c)
        .select_from(counted_sub.outerjoin(page, true()))
        .order_by(*page_order)
    )


async def fetch_page(connection: AsyncConnection, statement: Select[Any]) -> Page[Row[Any]]:
    """Run a statement from :func:`offset_page_statement`."""
    result = await connection.execute(statement)
    rows = result.all()
    total = rows[0][0]
    key = rows[0][1]
    if key is None:
        return Page(rows=(), total=total)
    return Page(rows=rows, total=total)
