"""Kept and reported sums stop at the largest BIGINT rather than fail.

Ingestion accepts a job of up to 2^63-1 bytes (the wire's int64), so two such jobs in one
aggregate row (a service's quarter-hour, a customer's day) add up to more than the column
holds. Failing there would fail the whole batch with it, and a report summing several
rows the same way. Every summed figure therefore saturates at :data:`MOST` (about 8 EiB):
exact below it, a floor once there. Real figures are many orders of magnitude short of it.

- :func:`capped`: a sum computed in Python, before it is written or answered;
- :func:`kept_plus`: a kept figure moved in SQL (``kept + by``), by a signed amount;
- :class:`capped_sum`: ``sum()`` in a query, exact on both databases up to the cap
  (PostgreSQL sums a BIGINT as NUMERIC; SQLite's ``sum()`` raises on an overflow, so it
  adds the high and low 32 bits apart, which cannot overflow).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

#: The largest value of a BIGINT column: where a summed figure stops.
MOST = 2**63 - 1


def capped(value: int) -> int:
    """``value`` within what a BIGINT column holds (a move can be negative)."""
    return -MOST if value < -MOST else min(value, MOST)


#: The kept figures that add up a job's unbounded values (its bytes, its seconds); counts
#: of jobs cannot come near the cap.
SATURATED = frozenset({"backup_size_bytes", "duration_seconds"})

_MOST_SQL = literal_column(str(MOST), BigInteger())
_ZERO_SQL = literal_column("0", BigInteger())


def kept_plus(name: str, kept: ColumnElement[Any], by: ColumnElement[Any]) -> ColumnElement[Any]:
    """``kept + by`` for the kept figure ``name`` moved by ``by`` (either sign); for a
    :data:`SATURATED` one at most :data:`MOST` and at least 0 (neither branch taken
    overflows)."""
    if name not in SATURATED:
        return kept + by
    total = kept + by
    return case((by > _MOST_SQL - kept, _MOST_SQL), (total < _ZERO_SQL, _ZERO_SQL), else_=total)


class capped_sum(FunctionElement[int]):
    """``sum(column)``, at most :data:`MOST` (NULL over no rows, as ``sum``)."""

    type = BigInteger()
    name = "capped_sum"
    inherit_cache = True


_LOW_BITS = 2**32 - 1
_HIGH_LIMIT = 2**31


@compiles(capped_sum, "postgresql")
def _capped_sum_postgresql(element: capped_sum, compiler: SQLCompiler, **kw: Any) -> str:
    total = f"sum({compiler.process(element.clauses, **kw)})"
    return f"CAST(CASE WHEN {total} > {MOST} THEN {MOST} ELSE {total} END AS BIGINT)"


@compiles(capped_sum)
def _capped_sum_sqlite(element: capped_sum, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    high, low = f"sum(({value}) >> 32)", f"sum(({value}) & {_LOW_BITS})"
    # The high halves add up to 2^31 or more only when the whole is at least 2^63. Below,
    # (high << 32) fits and adding the low halves overflows into a REAL, which min() caps.
    return (
        f"(CASE WHEN {high} >= {_HIGH_LIMIT} THEN {MOST}"
        f" ELSE min({MOST}, ({high} << 32) + {low}) END)"
    )
