"""Reading request inputs strictly, with a 400 or 404 problem that names what was wrong."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec import Parameter as OpenAPIParameter

from backupjobs.api.problems import ProblemError
from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.model import describe_error

T = TypeVar("T")

#: Offsets past this are certainly past the end; clamping keeps the SQL in range.
MAX_OFFSET = 2**53


#: The 400 of a JSON body nested deeper than the decoder goes (about a thousand levels).
TOO_DEEP = "The request body is nested too deeply: JSON arrays and objects in each other."


def decode_body(
    raw: bytes, body_type: type[T], invalid: Callable[[msgspec.ValidationError], str]
) -> T:
    """A JSON body as ``body_type``, or a 400: ``invalid(error)`` for valid JSON of another
    shape, the same words for any body that is not JSON or nests too deeply."""
    try:
        return msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        raise ProblemError(400, invalid(error)) from None
    except msgspec.DecodeError:
        raise ProblemError(400, "The request body is not valid JSON.") from None
    except RecursionError:
        raise ProblemError(400, TOO_DEEP) from None


def decode_optional_body(raw: bytes, body_type: type[T]) -> T | None:
    """An optional JSON object body: empty is None; anything but an object is a 400."""
    if not raw.strip():
        return None
    return decode_body(
        raw, body_type, lambda error: f"Invalid request body: {describe_error(error)}."
    )


def require_json(request: Request[Any, Any, Any]) -> None:
    """A 415 problem unless the request says its body is JSON: ``application/json`` or
    a ``+json`` media type (RFC 6839), parameters such as ``charset`` aside."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        given = f"'{media_type}'" if media_type else "none"
        raise ProblemError(
            415,
            f"The request body must be JSON: Content-Type application/json (or a +json "
            f"media type), not {given}.",
            headers={"Accept-Post": "application/json"},
        )


def customer_id_or_404(text: str) -> UUID:
    """A customer id from a path; one that cannot exist answers like any unknown one."""
    try:
        return _customer_uuid(text)
    except ValueError:
        raise not_found_customer(text) from None


# Parsing a UUID is Python code, on every job page: the ids asked about recently, parsed
# once (an invalid one raises, and is not kept).
_customer_uuid = functools.lru_cache(maxsize=16_384)(UUID)


def not_found_customer(customer_id: object) -> ProblemError:
    return ProblemError(404, f"Customer {customer_id} was not found.")


# --- v3 paging: pageIndex and pageSize, nothing else --------------------------------------

PAGE_INDEX, PAGE_SIZE = "pageIndex", "pageSize"
MAX_PAGE_INDEX = 2**63 - 1
MAX_PAGE_SIZE = 100
_V3_PARAMETERS = {PAGE_INDEX.lower(): PAGE_INDEX, PAGE_SIZE.lower(): PAGE_SIZE}
_DIGITS = frozenset("0123456789")


def v3_paging(query_string: bytes, *, default_size: int) -> tuple[int, int]:
    """``(pageIndex, pageSize)`` from a v3 request's query string, or a 400 problem.

    One rule for every v3 route: the names in any case (as the vendor's ASP.NET server
    matches them), each at most once, whole numbers in decimal digits only (``1e3``,
    ``+5`` and ``5.0`` are refused), and no other parameter (``?page=2`` is a 400 that
    lists the valid ones, not a parameter silently ignored).
    """
    if not query_string:  # most requests: no parsing at all
        return 1, default_size
    given: dict[str, int] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        canonical = _V3_PARAMETERS.get(name.lower())
        if canonical is None:
            raise ProblemError(
                400,
                f"Unknown query parameter {name!r}: this endpoint takes {PAGE_INDEX} and "
                f"{PAGE_SIZE} only.",
            )
        if canonical in given:
            raise ProblemError(400, f"The query parameter {canonical} is given more than once.")
        maximum = MAX_PAGE_INDEX if canonical == PAGE_INDEX else MAX_PAGE_SIZE
        number = int(value) if value and len(value) <= 19 and _DIGITS.issuperset(value) else 0
        if not 1 <= number <= maximum:
            raise ProblemError(
                400,
                f"Invalid query parameter {canonical}: {value!r} is not a whole number "
                f"from 1 to {maximum}.",
            )
        given[canonical] = number
    return given.get(PAGE_INDEX, 1), given.get(PAGE_SIZE, default_size)


def v3_paging_parameters(default_size: int) -> list[OpenAPIParameter]:
    """The OpenAPI entries of what :func:`v3_paging` reads."""
    return [
        OpenAPIParameter(
            name=PAGE_INDEX,
            param_in=ParamType.QUERY,
            required=False,
            schema=Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_PAGE_INDEX, default=1),
            description="Page number, from 1 (decimal digits only).",
        ),
        OpenAPIParameter(
            name=PAGE_SIZE,
            param_in=ParamType.QUERY,
            required=False,
            schema=Schema(
                type=OpenAPIType.INTEGER,
                minimum=1,
                maximum=MAX_PAGE_SIZE,
                default=default_size,
            ),
            description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {default_size}).",
        ),
    ]


def code_filter(table: CodeTable, code: int | None) -> int | None:
    if code is None:
        return None
    try:
        return table.parse(code).code
    except UnknownCodeError as error:
        raise ProblemError(400, f"Invalid request body: {error}.") from None


def offset_of(page_index: int, page_size: int) -> int:
    return min((page_index - 1) * page_size, MAX_OFFSET)


def json_body_operation(
    schema: Schema,
    description: str,
    *,
    media_type: str = "application/json",
    required: bool = False,
    parameters: Sequence[OpenAPIParameter] = (),
) -> type[Operation]:
    """An OpenAPI operation documenting a body (and query ``parameters``) that the
    handler reads itself."""

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={media_type: OpenAPIMediaType(schema=schema)},
                description=description,
                required=required,
            )
            if parameters:
                self.parameters = [*(self.parameters or []), *parameters]

    return WithBody


def nullable_integer(description: str) -> Schema:
    return Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL], description=description)


def _listed(table: CodeTable) -> str:
    return "; ".join(f"{entry.code} {entry.display}" for entry in table)


def code_schema(table: CodeTable, description: str, *, nullable: bool = False) -> Schema:
    """An integer code of ``table``: its codes as an ``enum``, each named in the
    description (the full reference: docs/codes.md)."""
    codes: list[Any] = [entry.code for entry in table]
    return Schema(
        type=[OpenAPIType.INTEGER, OpenAPIType.NULL] if nullable else OpenAPIType.INTEGER,
        enum=[*codes, None] if nullable else codes,
        description=f"{description} Codes: {_listed(table)}.",
    )


def code_or_name_schema(table: CodeTable, description: str) -> dict[str, Any]:
    """A code of ``table`` in a path: a catalog name (here its display name; any case and
    the seed's name are taken too) or the code's number, as ``enum`` values. A name that
    two codes share names neither and is left out (a 400 naming both)."""
    names = [entry.display for entry in table if table.find(entry.display) is entry]
    return {
        "enum": [*names, *(str(entry.code) for entry in table)],
        "description": f"{description} Codes and names: {_listed(table)}.",
    }


def object_schema(properties: dict[str, Schema | Reference], description: str) -> Schema:
    return Schema(type=OpenAPIType.OBJECT, properties=properties, description=description)
