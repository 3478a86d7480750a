"""The v3 partner API: POST, paged, integer codes (seed ``000_08c226e510f1a017.txt``).

Its jobs endpoint is a job page (:mod:`.jobpages`); the customers are listed here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema

from backupjobs.api.context import AppContext, health_clock
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.requests import (
    decode_optional_body,
    json_body_operation,
    object_schema,
    offset_of,
    v3_paging,
    v3_paging_parameters,
)
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.store.directory import customer_page
from backupjobs.wire import V3CustomerRow, v3_customer_row

PREFIX = "/partner/external/v3/general"


class V3Metadata(msgspec.Struct):
    pageIndex: int
    pageSize: int
    totalCount: int


class V3CustomerPage(msgspec.Struct):
    data: list[V3CustomerRow]
    metadata: V3Metadata


class V3CustomerFilter(msgspec.Struct):
    customerId: str | None = None
    customerIds: list[str] | None = None


#: The vendor's default page size of this endpoint (its jobs endpoint's is 100).
CUSTOMERS_PAGE_SIZE = 50

_CUSTOMER_FILTER = object_schema(
    {
        "customerId": Schema(
            type=[OpenAPIType.STRING, OpenAPIType.NULL],
            format="uuid",  # type: ignore[arg-type]
            description=(
                "The vendor's filter: only this customer (an unknown or invisible one gives "
                "empty data). With customerIds too: only if it is among them."
            ),
        ),
        "customerIds": Schema(
            type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
            items=Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
            description="Only these customers (absent or null: all); this product's extension.",
        ),
    },
    "Optional filter; unknown fields are ignored.",
)


def _uuid(value: str, member: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ProblemError(
            400, f"Invalid request body: {member} is not a customer id (a UUID): {value!r}."
        ) from None


def _customer_ids(filters: V3CustomerFilter) -> list[UUID] | None:
    """The customers asked for; both filters at once: those that both name."""
    listed = None
    if filters.customerIds is not None:
        listed = [
            _uuid(value, f"customerIds[{position}]")
            for position, value in enumerate(filters.customerIds)
        ]
    if filters.customerId is None:
        return listed
    one = _uuid(filters.customerId, "customerId")
    return [one] if listed is None or one in listed else []


@post(
    "/customers/batch",
    status_code=200,
    guards=[requires(Permission.V3_CUSTOMERS_READ)],
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 413, 429),
    operation_class=json_body_operation(
        _CUSTOMER_FILTER,
        "Limits the list to some customers.",
        parameters=v3_paging_parameters(default_size=CUSTOMERS_PAGE_SIZE),
    ),
    summary="The partner's customers",
    description=(
        "Customers visible to the app, ordered by organization, then id, each with its "
        "backup health (jobStatus, computed when asked)."
    ),
    tags=["v3"],
)
async def v3_customers(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    context: NamedDependency[AppContext],
) -> V3CustomerPage:
    pageIndex, pageSize = v3_paging(request.scope["query_string"], default_size=CUSTOMERS_PAGE_SIZE)
    # Decoded here, not as a Litestar ``data`` parameter, which would answer a body of
    # blanks (no filter here) with a 400 "Input data was truncated", and word its other
    # 400s its own way ("Invalid body parameter data: ..."); these are the jobs
    # endpoint's, the same for both.
    filters = decode_optional_body(await request.body(), V3CustomerFilter) or V3CustomerFilter()
    async with context.db.read() as connection:
        page = await customer_page(
            connection,
            principal.tenant_scope,
            clock=health_clock(context),
            customer_ids=_customer_ids(filters),
            offset=offset_of(pageIndex, pageSize),
            limit=pageSize,
        )
    return V3CustomerPage(
        data=[v3_customer_row(customer) for customer in page.rows],
        metadata=V3Metadata(pageIndex, pageSize, page.total),
    )


ROUTES = [v3_customers]
