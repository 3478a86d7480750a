"""Reading request inputs strictly, with a 400 or 404 problem that names what was wrong."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import msgspec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from backupjobs.api.problems import ProblemError
from backupjobs.catalog import CodeTable, UnknownCodeError
from backupjobs.model import describe_error

T = TypeVar("T")

#: Offsets past this are certainly past the end; clamping keeps the SQL in range.
MAX_OFFSET = 2**53


def decode_optional_body(raw: bytes, body_type: type[T]) -> T | None:
    """An optional JSON object body: empty is None; anything but an object is a 400."""
    if not raw.strip():
        return None
    try:
        return msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        raise ProblemError(400, f"Invalid request body: {describe_error(error)}.") from None
    except msgspec.DecodeError:
        raise ProblemError(400, "The request body is not valid JSON.") from None


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
) -> type[Operation]:
    """An OpenAPI operation documenting a body that the handler reads itself."""

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={media_type: OpenAPIMediaType(schema=schema)},
                description=description,
                required=required,
            )

    return WithBody


def nullable_integer(description: str) -> Schema:
    return Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL], description=description)


def object_schema(properties: dict[str, Schema | Reference], description: str) -> Schema:
    return Schema(type=OpenAPIType.OBJECT, properties=properties, description=description)
