"""Hot reads: statements built once, and on PostgreSQL answered together.

A :class:`Query` is a SQLAlchemy Core select built by a function of its parameters. On
SQLite it runs as it is, with bind parameters. On PostgreSQL, calls that arrive while
earlier ones are in flight wait and then go together, as one statement that unnests their
parameters (one array per parameter) and joins each call to the select ``LATERAL``:

    SELECT calls.call, answer.* FROM unnest($1::uuid[], ...) WITH ORDINALITY AS calls(...)
    JOIN LATERAL (<the select, over calls.*>) AS answer ON true ORDER BY calls.call, ...

The statement is compiled once (:class:`~backupjobs.infra.read_connections.Batched`)
and run on :class:`~backupjobs.infra.read_connections.ReadConnections`, which answers
the calls in flight together, rather than on the SQLAlchemy engine, whose per-call work
costs several times the query's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from backupjobs.infra.read_connections import Batched, Constant

#: The select of a :class:`Query`, from its parameters (bind parameters, or columns).
Build = Callable[[Mapping[str, ColumnElement[Any]]], Select[Any]]

_CALLS = "calls"
_CALL = "call_"


class Query:
    """A read built once from a function of named, typed parameters.

    >>> by_id = Query(
    ...     lambda p: select(customers.c.name).where(customers.c.id == p["id"]),
    ...     {"id": Uuid()},
    ... )
    >>> # rows = await db.fetch(by_id, {"id": customer_id})

    ``order_by`` names the select's output columns that order its rows (kept when calls
    are answered together). A parameter may be NULL; the select decides what that means.
    """

    __slots__ = ("_batched", "_build", "_order_by", "names", "parameters", "statement")

    _batched: Batched | None

    def __init__(
        self,
        build: Build,
        parameters: Mapping[str, TypeEngine[Any]],
        *,
        order_by: Sequence[str] = (),
    ) -> None:
        self.parameters = dict(parameters)
        self.names = tuple(self.parameters)
        self.statement = build(
            {name: bindparam(name, type_=t) for name, t in self.parameters.items()}
        )
        self._build = build
        self._order_by = tuple(order_by)
        self._batched = None

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The call's parameter values in order; a missing one is NULL."""
        return tuple(map(params.get, self.names))

    def batched(self, dialect: Dialect) -> Batched:
        """The statement answering many calls (PostgreSQL): each parameter as an array."""
        if self._batched is None:
            # Given a value (unused) so that what SQLAlchemy leaves to execution compiles now.
            arrays = [
                bindparam(f"{name}_calls", value=(), type_=ARRAY(kind))
                for name, kind in self.parameters.items()
            ]
            calls = (
                func.unnest(*arrays)
                .table_valued(*self.names, with_ordinality=_CALL)
                .render_derived(name=_CALLS)
            )
            # Named, not SQLAlchemy columns of ``calls``: nested selects would each add
            # ``calls`` to their own FROM instead of referring to the outer one.
            outer = {
                name: literal_column(f"{_CALLS}.{name}", type_=kind)
                for name, kind in self.parameters.items()
            }
            answer = self._build(outer).lateral("answer")
            statement = (
                select(calls.c[_CALL], *answer.c)
                .select_from(calls.join(answer, true()))
                .order_by(calls.c[_CALL], *(answer.c[name] for name in self._order_by))
            )
            compiled = statement.compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True}
            )
            position = {f"{name}_calls": index for index, name in enumerate(self.names)}
            slots = tuple(
                position[name] if name in position else Constant(compiled.binds[name].value)
                for name in compiled.positiontup or ()
            )
            self._batched = Batched(compiled.string, slots)
        return self._batched
