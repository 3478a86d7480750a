"""The v3 partner API: POST, paged, integer codes (seed ``000_08c226e510f1a017.txt``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Router, post
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import Parameter
from litestar.response.base import ASGIResponse

from backupjobs.api.answers import JsonAnswer, ok_response
from backupjobs.api.context import services
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.requests import (
    code_filter,
    customer_id_or_404,
    decode_optional_body,
    json_body_operation,
    not_found_customer,
    nullable_integer,
    object_schema,
    offset_of,
    read_body,
)
from backupjobs.api.security import SECURITY, authorizing, principal_of
from backupjobs.auth.permissions import Permission
from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.store.directory import customer_page
from backupjobs.wire import CustomerRow, V3JobRow, customer_row, v3_job_row

PREFIX = "/partner/external/v3/general"

PageIndex = Annotated[int, Parameter(ge=1, description="Page number, from 1.")]
PageSize = Annotated[int, Parameter(ge=1, le=100, description="Rows per page, 1 to 100.")]


class V3Metadata(msgspec.Struct):
    pageIndex: int
    pageSize: int
    totalCount: int


class V3JobPage(msgspec.Struct):
    data: list[V3JobRow]
    metadata: V3Metadata


class _EncodedJobPage(msgspec.Struct):
    """A :class:`V3JobPage` whose rows are JSON already (see ``ReadModel.job_page``)."""

    data: msgspec.Raw
    metadata: V3Metadata


_encoder = msgspec.json.Encoder()


class V3CustomerPage(msgspec.Struct):
    data: list[CustomerRow]
    metadata: V3Metadata


class V3JobFilter(msgspec.Struct):
    jobType: int | None = None
    jobModule: int | None = None


class V3CustomerFilter(msgspec.Struct):
    customerIds: list[str] | None = None


_JOB_FILTER = object_schema(
    {
        "jobType": nullable_integer("Only this job type (absent or null: all)."),
        "jobModule": nullable_integer("Only this job module (absent or null: all)."),
    },
    "Optional filters; unknown fields are ignored.",
)
_CUSTOMER_FILTER = object_schema(
    {
        "customerIds": Schema(
            type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
            items=Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
            description="Only these customers (absent or null: all).",
        )
    },
    "Optional filter; unknown fields are ignored.",
)


@post(
    [
        "/customers/{customer_id:str}/jobs",
        "/customers/{customer_id:str}/avpt-products/jobs/batch",
    ],
    status_code=200,
    before_request=authorizing(Permission.V3_JOBS_READ),
    security=SECURITY,
    responses={200: ok_response(V3JobPage), **problem_responses(400, 401, 403, 404, 413, 429)},
    operation_class=json_body_operation(_JOB_FILTER, "Filters by job type and module."),
    summary="Job details of a customer's backup services",
    description=(
        "One row per backup service of the customer: its latest job, or a placeholder row "
        "if it has never run. Ordered by jobType, then jobModule."
    ),
    tags=["v3"],
)
async def v3_jobs(
    request: Request[Any, Any, Any],
    customer_id: Annotated[str, Parameter(description="The tenant owner ID of the customer.")],
    pageIndex: PageIndex = 1,
    pageSize: PageSize = 100,
) -> ASGIResponse:
    principal = principal_of(request)
    filters = decode_optional_body(await read_body(request), V3JobFilter) or V3JobFilter()
    job_type = code_filter(JOB_TYPES, filters.jobType)
    job_module = code_filter(JOB_MODULES, filters.jobModule)
    customer = customer_id_or_404(customer_id)
    page = await services(request).read_model.job_page(
        principal.scope,
        customer,
        job_type=job_type,
        job_module=job_module,
        offset=offset_of(pageIndex, pageSize),
        limit=pageSize,
        rendering=v3_job_row,
    )
    if page is None:
        raise not_found_customer(customer_id)
    answer = _EncodedJobPage(page.rows, V3Metadata(pageIndex, pageSize, page.total))
    return JsonAnswer(_encoder.encode(answer))


def _customer_ids(filters: V3CustomerFilter) -> list[UUID] | None:
    if filters.customerIds is None:
        return None
    ids = []
    for position, value in enumerate(filters.customerIds):
        try:
            ids.append(UUID(value))
        except ValueError:
            raise ProblemError(
                400, f"Invalid request body: customerIds[{position}] is not a UUID: {value!r}."
            ) from None
    return ids


@post(
    "/customers/batch",
    status_code=200,
    before_request=authorizing(Permission.V3_CUSTOMERS_READ),
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 413, 429),
    operation_class=json_body_operation(_CUSTOMER_FILTER, "Limits the list to some customers."),
    summary="The partner's customers",
    description="Customers visible to the app, ordered by name, then id.",
    tags=["v3"],
)
async def v3_customers(
    request: Request[Any, Any, Any],
    pageIndex: PageIndex = 1,
    pageSize: PageSize = 100,
) -> V3CustomerPage:
    filters = decode_optional_body(await request.body(), V3CustomerFilter) or V3CustomerFilter()
    async with services(request).db.read() as connection:
        page = await customer_page(
            connection,
            principal_of(request).scope,
            customer_ids=_customer_ids(filters),
            offset=offset_of(pageIndex, pageSize),
            limit=pageSize,
        )
    return V3CustomerPage(
        data=[customer_row(row) for row in page.rows],
        metadata=V3Metadata(pageIndex, pageSize, page.total),
    )


router = Router(path=PREFIX, route_handlers=[v3_jobs, v3_customers])
