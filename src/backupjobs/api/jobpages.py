"""The job pages: the two routes partners call most, on a fast path of their own.

The v3 jobs endpoint (``POST .../customers/{id}/jobs`` and ``.../avpt-products/jobs/batch``)
and the Modern job feeds (``GET /partner/customers/{id}/jobs``, one service's at
``.../jobType/{type}/jobModule/{module}``, and ``/partner/Customers({id})/jobs``). Each
answers from :meth:`ReadModel.job_page <backupjobs.readmodel.ReadModel.job_page>`, which
usually costs no database work, so the HTTP framework's own per-request work is most of
what is left (``docs/scaling.md``: "Where a page's time goes"). Three parts of it are
bypassed here, and only here, each measured on this path (in-process, per request):

- **The answer** (:class:`JsonAnswer`): the handler encodes the page with msgspec, its
  rows JSON already, and hands Litestar the bytes; Litestar's way from a returned object
  to the bytes on the wire cost 17 us. The bytes are the same.
- **The headers** (:func:`header`, :func:`read_body`): two headers read from the ASGI
  scope, where building Litestar's header map cost more than the lookups; a request
  framed as bodiless is not read at all (an empty body cost 7 us), which is most of the
  job pages' requests.
- **Authorization** (:func:`authorizing`): a ``before_request`` hook, not a guard nor a
  dependency: the dependency cost 9 us; a guard costs a copy of the route handler on
  every call (Litestar's ``authorize_connection``: 6.5 us). The hook keeps what a guard
  gives: "no token: 401" comes before any parameter is read.

Every other route is written the framework's way (guards, dependencies, returned
objects: :mod:`.v3`, :mod:`.modern`, :mod:`.ingest`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response.base import ASGIResponse
from litestar.types import BeforeRequestHookHandler

from backupjobs.api import odata
from backupjobs.api.context import app_context
from backupjobs.api.odata import CollectionOperation, CustomerId, EntitySegment, Feed
from backupjobs.api.problems import ProblemError, odata_error_responses, problem_responses
from backupjobs.api.requests import (
    code_filter,
    code_or_name_schema,
    code_schema,
    customer_id_or_404,
    decode_optional_body,
    json_body_operation,
    not_found_customer,
    object_schema,
    offset_of,
    v3_paging,
    v3_paging_parameters,
)
from backupjobs.api.security import SECURITY, authorize, principal_of
from backupjobs.api.v3 import V3Metadata
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, CodeTable, UnknownCodeError
from backupjobs.model import ServiceState
from backupjobs.readmodel import EncodedPage, render_page
from backupjobs.wire import ModernJobRow, V3JobRow, modern_job_row, v3_job_row

_encoder = msgspec.json.Encoder()


# --- the bypasses ----------------------------------------------------------------------


class JsonAnswer(ASGIResponse):
    """A 200 answer with a JSON body, as ``ASGIResponse(body=..., media_type=JSON)``
    makes it, without the general case's header bookkeeping."""

    def __init__(
        self,
        body: bytes,
        *,
        media_type: bytes = b"application/json",
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.headers = MutableScopeHeaders(
            {
                "headers": [
                    (b"content-type", media_type),
                    (b"content-length", str(len(body)).encode("ascii")),
                    *headers,
                ]
            }
        )
        self.background = None
        self.body = body
        self.content_length = len(body)
        self._encoded_cookies = ()
        self.encoding = "utf-8"
        self.is_head_response = False
        self.status_code = 200


def ok_response(body: type[Any]) -> ResponseSpec:
    """The OpenAPI entry of a 200 answer whose handler returns a :class:`JsonAnswer`."""
    return ResponseSpec(
        data_container=body, description=HTTPStatus.OK.description, generate_examples=False
    )


def header(request: Request[Any, Any, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), read from the ASGI scope."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The request body; a request framed as bodiless (RFC 9112 6.3: no Transfer-Encoding,
    no or zero Content-Length) is not read at all."""
    length = header(request, b"content-length")
    if length in (None, "0") and header(request, b"transfer-encoding") is None:
        return b""
    return await request.body()


def authorizing(permission: Permission) -> BeforeRequestHookHandler:
    """A ``before_request`` hook: :func:`~.security.authorize`, the principal kept for
    :func:`~.security.principal_of`."""

    async def check(request: Request[Any, Any, Any]) -> None:
        await authorize(request, permission)

    return check


# --- v3 --------------------------------------------------------------------------------


class V3JobPage(msgspec.Struct):
    data: list[V3JobRow]
    metadata: V3Metadata


class _EncodedV3JobPage(msgspec.Struct):
    """A :class:`V3JobPage` whose rows are JSON already."""

    data: msgspec.Raw
    metadata: V3Metadata


class V3JobFilter(msgspec.Struct):
    jobType: int | None = None
    jobModule: int | None = None


_JOB_FILTER = object_schema(
    {
        "jobType": code_schema(
            JOB_TYPES, "Only this job type (absent or null: all).", nullable=True
        ),
        "jobModule": code_schema(
            JOB_MODULES, "Only this job module (absent or null: all).", nullable=True
        ),
    },
    "Optional filters; unknown fields are ignored.",
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
    operation_class=json_body_operation(
        _JOB_FILTER,
        "Filters by job type and module.",
        parameters=v3_paging_parameters(default_size=100),
    ),
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
) -> ASGIResponse:
    principal = principal_of(request.scope)
    pageIndex, pageSize = v3_paging(request.scope["query_string"], default_size=100)
    filters = decode_optional_body(await read_body(request), V3JobFilter) or V3JobFilter()
    job_type = code_filter(JOB_TYPES, filters.jobType)
    job_module = code_filter(JOB_MODULES, filters.jobModule)
    customer = customer_id_or_404(customer_id)
    page = await app_context(request).read_model.job_page(
        principal.tenant_scope,
        customer,
        job_type=job_type,
        job_module=job_module,
        offset=offset_of(pageIndex, pageSize),
        limit=pageSize,
        rendering=v3_job_row,
    )
    if page is None:
        raise not_found_customer(customer_id)
    answer = _EncodedV3JobPage(page.rows, V3Metadata(pageIndex, pageSize, page.total))
    return JsonAnswer(_encoder.encode(answer))


# --- Modern ---

#: What the documented job feed routes share.
_JOB_FEED: dict[str, Any] = {
    "before_request": authorizing(Permission.MODERN_JOBS_READ),
    "media_type": odata.JSON_MEDIA_TYPE,
    "security": SECURITY,
    "responses": {
        200: ok_response(Feed[list[ModernJobRow]]),
        **odata_error_responses(400, 401, 403, 404, 406, 412, 429, 501),
    },
    "operation_class": CollectionOperation,
    "tags": ["Modern"],
}
_MEDIA_TYPES = {level: f"application/json; odata.metadata={level}".encode() for level in
                odata.METADATA_LEVELS}  # fmt: skip
_VERSION_HEADER = (odata.VERSION_HEADER[0].lower().encode(), odata.VERSION_HEADER[1].encode())


def _path_code(table: CodeTable, description: str) -> dict[str, Any]:
    described = code_or_name_schema(table, description)
    return {"description": described["description"], "schema_extra": {"enum": described["enum"]}}


_JOB_TYPE_PATH = _path_code(JOB_TYPES, "The service type of the job: a name or a code.")
_JOB_MODULE_PATH = _path_code(JOB_MODULES, "The service module of the job: a name or a code.")


def _code(table: CodeTable, text: str, parameter: str) -> int:
    """A code from a path segment: a name in any case, URL-encoded or not, or a number.

    ``+`` stands for a space, as form encoders (``HttpUtility.UrlEncode``) write it; no
    catalog name contains one.
    """
    try:
        return table.parse(text.replace("+", " ")).code
    except UnknownCodeError as error:
        raise ProblemError(
            400, f"Invalid path parameter {parameter}: {error}.", target=parameter
        ) from None


def _odata_answer(body: bytes, negotiated: odata.Negotiated) -> JsonAnswer:
    preference = negotiated.headers().get("Preference-Applied")
    extra = ((b"preference-applied", preference.encode()),) if preference else ()
    return JsonAnswer(
        body, media_type=_MEDIA_TYPES[negotiated.metadata], headers=(_VERSION_HEADER, *extra)
    )


def _full_rows(public_url: str, customer_id: str, rows: msgspec.Raw) -> list[dict[str, Any]]:
    """Job rows with full metadata (decoded from the page's JSON: the slow form)."""
    return [odata.full_job(public_url, customer_id, row) for row in msgspec.json.decode(rows)]


async def _job_feed(
    request: Request[Any, Any, Any],
    principal: Principal,
    customer_id: str,
    *,
    job_type: int | None = None,
    job_module: int | None = None,
) -> ASGIResponse:
    """A customer's service rows (latest job or placeholder each) as an OData page."""
    query, options, negotiated = odata.collection_request(request)
    customer = customer_id_or_404(customer_id)
    context = app_context(request)
    now = datetime.now(UTC)
    page = await context.read_model.job_page(
        principal.tenant_scope,
        customer,
        job_type=job_type,
        job_module=job_module,
        offset=options.offset,
        limit=options.page_size,
        rendering=modern_job_row,
        now=now,
    )
    if page is None:
        raise not_found_customer(customer_id)
    if job_type is not None and job_module is not None and page.total == 0:
        page = _placeholder(job_type, job_module, options, now)
    public_url = context.settings.public_url
    rows: Any = page.rows
    if negotiated.metadata == odata.FULL_METADATA:
        rows = _full_rows(public_url, str(customer), page.rows)
    feed = odata.feed(
        public_url,
        request.scope["path"],
        odata.JOB_COLLECTION,
        query,
        options,
        rows,
        returned=page.count,
        total=page.total,
        metadata=negotiated.metadata,
    )
    return _odata_answer(_encoder.encode(feed), negotiated)


def _placeholder(
    job_type: int, job_module: int, options: odata.CollectionOptions, now: datetime
) -> EncodedPage:
    """Asked about one service that has no row yet: it has not run, so the answer is the
    placeholder, exactly as the seed shows it."""
    first_page = options.offset == 0 and options.page_size > 0
    states = [ServiceState(job_type, job_module)] if first_page else []
    return render_page(states, modern_job_row, now, total=1).at(now)


@get(
    "/customers/{customer_id:str}/jobs/jobType/{job_type:str}/jobModule/{job_module:str}",
    **_JOB_FEED,
    summary="Job details of one backup service of a customer",
    description=(
        "The service's latest job, or a placeholder row (status `Not Finished`) if it has "
        "never run (also when the customer has no record of this service). Job type "
        "and module are names from the catalog in any case (`Microsoft 365`, "
        "`SharePoint Online`), URL-encoded or not, or numeric codes."
    ),
)
async def service_jobs(
    request: Request[Any, Any, Any],
    customer_id: CustomerId,
    job_type: Annotated[str, Parameter(**_JOB_TYPE_PATH)],
    job_module: Annotated[str, Parameter(**_JOB_MODULE_PATH)],
) -> ASGIResponse:
    type_code = _code(JOB_TYPES, job_type, "JobType")
    module_code = _code(JOB_MODULES, job_module, "JobModule")
    return await _job_feed(
        request,
        principal_of(request.scope),
        customer_id,
        job_type=type_code,
        job_module=module_code,
    )


@get(
    "/customers/{customer_id:str}/jobs",
    **_JOB_FEED,
    summary="Job details of all backup services of a customer",
    description=(
        "One row per backup service of the customer: its latest job, or a placeholder row "
        "if it has never run. Ordered by job type, then job module (by code)."
    ),
)
async def customer_jobs(
    request: Request[Any, Any, Any],
    customer_id: CustomerId,
) -> ASGIResponse:
    return await _job_feed(request, principal_of(request.scope), customer_id)


async def _customer_of_odata_url(
    request: Request[Any, Any, Any], segment: str
) -> tuple[Principal, str]:
    """The principal and customer key of a ``Customers(<id>)`` segment. These routes
    match any segment, so the token is checked only once the segment has turned out to
    be one of ours: elsewhere the answer stays an unknown path's 404."""
    key = odata.customer_key(segment)
    if key is None:
        raise NotFoundException()
    return await authorize(request, Permission.MODERN_JOBS_READ), key


@get("/{segment:str}/jobs", media_type=odata.JSON_MEDIA_TYPE, include_in_schema=False)
async def customer_jobs_by_odata_url(
    request: Request[Any, Any, Any], segment: EntitySegment
) -> ASGIResponse:
    principal, key = await _customer_of_odata_url(request, segment)
    return await _job_feed(request, principal, key)


async def _job_count(
    request: Request[Any, Any, Any], principal: Principal, customer_id: str
) -> Response[str]:
    odata.entity_request(request)
    customer = customer_id_or_404(customer_id)
    page = await app_context(request).read_model.job_page(
        principal.tenant_scope, customer, offset=0, limit=0, rendering=modern_job_row
    )
    if page is None:
        raise not_found_customer(customer_id)
    return odata.count_answer(page.total)


@get(
    "/customers/{customer_id:str}/jobs/$count",
    before_request=authorizing(Permission.MODERN_JOBS_READ),
    media_type=odata.TEXT_MEDIA_TYPE,
    security=SECURITY,
    responses=odata_error_responses(400, 401, 403, 404, 406, 412, 429, 501),
    summary="How many backup services a customer has",
    description="The number of rows of the customer's job feed, as text (`jobs/$count`).",
    tags=["Modern"],
)
async def customer_job_count(
    request: Request[Any, Any, Any], customer_id: CustomerId
) -> Response[str]:
    return await _job_count(request, principal_of(request.scope), customer_id)


@get("/{segment:str}/jobs/$count", media_type=odata.TEXT_MEDIA_TYPE, include_in_schema=False)
async def customer_job_count_by_odata_url(
    request: Request[Any, Any, Any], segment: EntitySegment
) -> Response[str]:
    principal, key = await _customer_of_odata_url(request, segment)
    return await _job_count(request, principal, key)


@get("/{segment:str}/{navigation:str}", media_type=odata.JSON_MEDIA_TYPE, include_in_schema=False)
async def job_by_key(
    request: Request[Any, Any, Any], segment: EntitySegment, navigation: str
) -> Response[Any]:
    """``Customers(<id>)/jobs(jobType='...',jobModule='...')``: one service's row, or 404
    if the customer has no such service."""
    odata.job_key(navigation)  # anything but a jobs(...) segment is no route
    principal, key = await _customer_of_odata_url(request, segment)
    negotiated = odata.entity_request(request)
    type_name, module_name = odata.job_key(navigation)
    customer = customer_id_or_404(key)
    codes = _known_codes(type_name, module_name)
    page = await app_context(request).read_model.job_page(
        principal.tenant_scope,
        customer,
        job_type=codes[0] if codes else None,
        job_module=codes[1] if codes else None,
        offset=0,
        limit=1,
        rendering=modern_job_row,
    )
    if page is None:
        raise not_found_customer(key)
    if codes is None or page.count == 0:
        raise ProblemError(404, f"Customer {key} has no job {navigation}.", target="jobs")
    public_url = app_context(request).settings.public_url
    row: dict[str, Any] = msgspec.json.decode(page.rows)[0]
    entity: dict[str, Any] = {}
    if negotiated.metadata != odata.NO_METADATA:
        fragment = f"{odata.CUSTOMERS}({key})/{odata.JOBS}/$entity"
        entity["@odata.context"] = odata.context_url(public_url, fragment)
    if negotiated.metadata == odata.FULL_METADATA:
        row = odata.full_job(public_url, key, row)
    entity.update(row)
    return odata.answer(entity, negotiated)


def _known_codes(type_name: str, module_name: str) -> tuple[int, int] | None:
    """The codes of a job key's names (as the feeds write them), None if either is not
    a name of the catalog: no such job."""
    try:
        return JOB_TYPES.parse(type_name).code, JOB_MODULES.parse(module_name).code
    except UnknownCodeError:
        return None


#: The routes of this module, by the router they belong under.
V3_ROUTES = [v3_jobs]
MODERN_ROUTES = [
    customer_jobs,
    service_jobs,
    customer_job_count,
    customer_jobs_by_odata_url,
    customer_job_count_by_odata_url,
    job_by_key,
]
