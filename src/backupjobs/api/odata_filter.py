"""OData ``$filter`` for the history feed: parsed, then built into SQL with bound values.

>>> from sqlalchemy import column, Integer
>>> properties = {"status": FilterProperty(column("status", Integer()), INT)}
>>> condition = to_sql(parse_filter("status eq 3 or (status ge 5 and status lt 7)"), properties)
>>> str(condition.compile(compile_kwargs={"literal_binds": True}))
'status = 3 OR status >= 5 AND status < 7'

The grammar is what Power BI's query folding and incremental refresh send (URL
Conventions 5.1.1): comparisons ``<property> eq|ne|gt|ge|lt|le <literal>``, ``and``,
``or`` and parentheses. Literals: strings (``'it''s'``), integers, ``true``/``false``,
``null``, GUIDs and date-time offsets (``2026-01-01T00:00:00Z``, or a date, midnight UTC).
Anything else is a :class:`~.problems.ProblemError`: 400 for what is not valid, 501 for
what OData has and this service does not (functions, ``not``, arithmetic), each naming
what it met and where. No text of the filter is ever put into SQL: every value is a bound
parameter of the property's type.

The same tree is also a test of values already read (:func:`to_predicate`), for the sets
whose rows are computed rather than stored (the customers' health, the daily outcomes),
and :func:`conjuncts` gives the comparisons every matching row satisfies, with which such
a set narrows what it reads (``date ge 2026-01-01 and date lt 2026-02-01``).

>>> test = to_predicate(parse_filter("jobs gt 2 and date ge 2026-01-02"),
...                     {"jobs": ValueProperty(INT), "date": ValueProperty(DATE)})
>>> test({"jobs": 3, "date": date(2026, 1, 2)}), test({"jobs": 3, "date": date(2026, 1, 1)})
(True, False)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, literal, or_

from backupjobs.api.problems import ProblemError
from backupjobs.catalog import Code, CodeTable, UnknownCodeError

FILTER = "$filter"
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
#: OData operators and functions this service does not implement (a 501, not a 400).
_NOT_IMPLEMENTED = frozenset(
    {"not", "has", "in", "add", "sub", "mul", "div", "divby", "mod", "any", "all"}
)
#: Deeper nesting than any folded query needs is refused before it costs anything.
MAX_DEPTH = 32
MAX_TERMS = 200

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))?)
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<other>\S)
    )""",
    re.VERBOSE,
)


# --- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # "string", "int", "decimal", "bool", "null", "guid", "datetime"
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class Comparison:
    property: str
    operator: str
    value: Literal


@dataclass(frozen=True, slots=True)
class Junction:
    operator: str  # "and" | "or"
    left: Node
    right: Node


Node = Comparison | Junction


# --- parsing -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:  # only trailing spaces are left
            break
        found.append(
            _Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        position = match.end()
    return found


def _bad(message: str, status: int = 400) -> ProblemError:
    return ProblemError(status, f"Invalid query option $filter: {message}.", target=FILTER)


def catalog_name(table: CodeTable, read: Callable[[Code], Any]) -> Callable[[str], Any]:
    """The ``convert`` of a property that holds a name of ``table``: what ``read`` takes
    from the entry named (any spelling the catalog knows, any case); else a 400."""

    def convert(name: str) -> Any:
        try:
            return read(table.parse(name))
        except UnknownCodeError as error:
            raise _bad(str(error)) from None

    return convert


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _bad("it ends where a property, a value or '(' was expected")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in words:
            self.index += 1
            return token.text
        return None

    def expression(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _bad(f"parentheses nest deeper than {MAX_DEPTH}")
        node = self.conjunction(depth)
        while self.keyword("or"):
            node = Junction("or", node, self.conjunction(depth))
        return node

    def conjunction(self, depth: int) -> Node:
        node = self.primary(depth)
        while self.keyword("and"):
            node = Junction("and", node, self.primary(depth))
        return node

    def primary(self, depth: int) -> Node:
        token = self.take()
        if token.kind == "open":
            node = self.expression(depth + 1)
            closing = self.take()
            if closing.kind != "close":
                raise _bad(f"')' expected at {closing.at}, found {closing.text!r}")
            return node
        if token.kind != "name":
            raise _bad(f"a property name expected at {token.at}, found {token.text!r}")
        after = self.peek()
        if token.text in _NOT_IMPLEMENTED or (after is not None and after.kind == "open"):
            raise _bad(
                f"{token.text!r} at {token.at} is not implemented; supported: comparisons "
                f"({' '.join(COMPARISONS)}) of a property with a value, and, or, parentheses",
                501,
            )
        operator = self.take()
        if operator.kind != "name" or operator.text not in COMPARISONS:
            if operator.kind == "name" and operator.text in _NOT_IMPLEMENTED:
                raise _bad(f"the operator {operator.text!r} is not implemented", 501)
            raise _bad(
                f"an operator ({', '.join(COMPARISONS)}) expected at {operator.at} after "
                f"{token.text!r}, found {operator.text!r}"
            )
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise _bad(f"more than {MAX_TERMS} comparisons")
        return Comparison(token.text, operator.text, self.literal())

    def literal(self) -> Literal:
        token = self.take()
        text = token.text
        if token.kind == "string":
            return Literal("string", text[1:-1].replace("''", "'"), text)
        if token.kind == "number":
            if re.fullmatch(r"-?\d+", text):
                return Literal("int", int(text), text)
            return Literal("decimal", float(text), text)
        if token.kind == "guid":
            return Literal("guid", UUID(text), text)
        if token.kind == "datetime":
            return Literal("datetime", _instant(text, token.at), text)
        if token.kind == "name" and text in ("true", "false", "null"):
            return (
                Literal("null", None, text)
                if text == "null"
                else Literal("bool", text == "true", text)
            )
        following = self.peek()
        if token.kind == "name" and following is not None and following.kind == "string":
            raise _bad(f"typed literals ({text}'...') are not implemented", 501)
        raise _bad(f"a value expected at {token.at}, found {text!r}")


def _instant(text: str, at: int) -> datetime:
    try:
        if "T" not in text:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        # Python 3.11 reads 'Z' and fractions of up to 6 digits; OData allows 7.
        whole, dot, rest = text.partition(".")
        if dot:
            digits = re.match(r"\d+", rest)
            fraction = digits.group(0) if digits else ""
            text = f"{whole}.{fraction[:6].ljust(6, '0')}{rest[len(fraction) :]}"
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise _bad(f"{text!r} at {at} is not a valid date-time") from None


def parse_filter(text: str) -> Node:
    """The tree of a ``$filter`` value, or an error naming what is wrong and where."""
    if not text.strip():
        raise _bad("it is empty")
    parser = _Parser(text)
    node = parser.expression(0)
    rest = parser.peek()
    if rest is not None:
        raise _bad(f"unexpected {rest.text!r} at {rest.at}")
    return node


# --- to SQL ------------------------------------------------------------------------------

INT, STRING, GUID, DATETIME, DATE = "int", "string", "guid", "datetime", "date"
_ACCEPTS = {
    INT: ("int",),
    STRING: ("string",),
    GUID: ("guid",),
    DATETIME: ("datetime",),
    DATE: ("datetime",),  # a date literal only: checked by _value
}
_EDM = {INT: "Edm.Int32 or Edm.Int64", STRING: "Edm.String", GUID: "Edm.Guid",
        DATETIME: "Edm.DateTimeOffset", DATE: "Edm.Date"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FilterProperty:
    """A filterable property: the SQL it is, its type, whether it may be null, and how a
    value of it becomes SQL (``convert``, e.g. a catalog name to its code)."""

    expression: ColumnElement[Any]
    type: str
    nullable: bool = False
    #: Extra conditions a comparison implies (``startTime`` is the sort time where the
    #: job has started, so that the history's index serves it).
    guard: ColumnElement[bool] | None = None
    convert: Callable[[Any], Any] | None = None
    #: What ``eq null`` tests, when it is not ``expression`` (``startTime``: the start).
    null_column: ColumnElement[Any] | None = None


def to_sql(node: Node, properties: Mapping[str, FilterProperty]) -> ColumnElement[bool]:
    """The condition of ``node`` over ``properties``; a property that is not one of them
    is a 400 naming the filterable ones."""
    if isinstance(node, Junction):
        left, right = to_sql(node.left, properties), to_sql(node.right, properties)
        return and_(left, right) if node.operator == "and" else or_(left, right)
    found = properties.get(node.property)
    if found is None:
        raise _bad(
            f"{node.property!r} is not a filterable property; filterable: {', '.join(properties)}"
        )
    value = node.value
    column = found.expression
    if value.kind == "null":
        if node.operator not in ("eq", "ne"):
            raise _bad(f"{node.property} {node.operator} null: null compares with eq or ne only")
        tested = found.null_column if found.null_column is not None else column
        condition: ColumnElement[bool] = (
            tested.is_(None) if node.operator == "eq" else tested.is_not(None)
        )
        return condition
    if value.kind not in _ACCEPTS[found.type]:
        raise _bad(
            f"{node.property} is {_EDM[found.type]}; {value.text} is not a value of that type"
        )
    bound = found.convert(value.value) if found.convert else value.value
    parameter = literal(bound, type_=column.type)
    operate = {
        "eq": column.__eq__, "ne": column.__ne__, "gt": column.__gt__,
        "ge": column.__ge__, "lt": column.__lt__, "le": column.__le__,
    }[node.operator]  # fmt: skip
    condition = operate(parameter)
    if node.operator == "ne" and found.nullable:
        condition = or_(condition, column.is_(None))  # OData: null ne 3 is true
    if found.guard is not None:
        condition = and_(found.guard, condition)
    return condition


# --- over values read --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueProperty:
    """A filterable property of rows already read (a mapping by property name): its type,
    whether it may be null, and how a value of it is read from a literal (``convert``)."""

    type: str
    nullable: bool = False
    convert: Callable[[Any], Any] | None = None


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}  # fmt: skip


def _value(node: Comparison, found: ValueProperty) -> Any:
    """The literal of ``node`` as a value of the property, or a 400 naming both."""
    value = node.value
    if value.kind not in _ACCEPTS[found.type] or (found.type == DATE and "T" in value.text):
        raise _bad(
            f"{node.property} is {_EDM[found.type]}; {value.text} is not a value of that type"
        )
    if found.type == DATE:
        return date.fromisoformat(value.text)
    return found.convert(value.value) if found.convert else value.value


def to_predicate(
    node: Node, properties: Mapping[str, ValueProperty]
) -> Callable[[Mapping[str, Any]], bool]:
    """A test of a row (values by property name) for ``node``, with the meaning
    :func:`to_sql` gives it: null equals only null, ``ne`` holds for a null value, and
    every other comparison with null is false. Errors as :func:`to_sql`."""
    if isinstance(node, Junction):
        left, right = to_predicate(node.left, properties), to_predicate(node.right, properties)
        if node.operator == "and":
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)
    found = properties.get(node.property)
    if found is None:
        raise _bad(
            f"{node.property!r} is not a filterable property; filterable: {', '.join(properties)}"
        )
    name, compare = node.property, _OPERATORS[node.operator]
    if node.value.kind == "null":
        if node.operator not in ("eq", "ne"):
            raise _bad(f"{node.property} {node.operator} null: null compares with eq or ne only")
        wanted_null = node.operator == "eq"
        return lambda row: (row[name] is None) == wanted_null
    bound = _value(node, found)
    is_ne = node.operator == "ne"

    def test(row: Mapping[str, Any]) -> bool:
        value = row[name]
        if value is None:
            return is_ne
        return compare(value, bound)

    return test


def conjuncts(node: Node) -> list[Comparison]:
    """The comparisons that every row matching ``node`` satisfies: those joined to the
    whole by ``and`` alone (none under an ``or``)."""
    if isinstance(node, Comparison):
        return [node]
    if node.operator == "and":
        return [*conjuncts(node.left), *conjuncts(node.right)]
    return []


def bounds(
    node: Node, name: str, properties: Mapping[str, ValueProperty]
) -> tuple[Any | None, Any | None, frozenset[Any] | None]:
    """What the conjuncts of ``node`` say of property ``name``: the greatest lower bound
    (inclusive) and least upper bound (exclusive), for :data:`DATE` and :data:`INT`
    properties, and the values it must equal (None: any). A caller reads no
    further than these, and still tests every row with :func:`to_predicate`."""
    low = high = None
    equal: frozenset[Any] | None = None
    found = properties[name]
    step: Any = timedelta(days=1) if found.type == DATE else 1
    for comparison in conjuncts(node):
        if comparison.property != name or comparison.value.kind == "null":
            continue
        value = _value(comparison, found)
        if comparison.operator == "eq":
            equal = frozenset({value}) if equal is None else equal & {value}
        if found.type not in (DATE, INT):
            continue
        lower = {"ge": value, "gt": value + step, "eq": value}.get(comparison.operator)
        upper = {"lt": value, "le": value + step, "eq": value + step}.get(comparison.operator)
        if lower is not None:
            low = lower if low is None else max(low, lower)
        if upper is not None:
            high = upper if high is None else min(high, upper)
    return low, high, equal
