"""The Modern partner API: GET, OData v4, names (seed ``001_91fa0af0a3e5788d.txt``).

An adapter over the same store queries and wire rows as the v3 API: it parses the
Modern request (names for codes, OData query options) and wraps the rows in OData
envelopes. See :mod:`backupjobs.api.odata` for the ``$metadata`` document and paging.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response.base import ASGIResponse

from backupjobs.api import odata
from backupjobs.api.answers import JsonAnswer, ok_response
from backupjobs.api.context import services
from backupjobs.api.odata import CollectionOperation, CollectionOptions, Feed
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.requests import customer_id_or_404, not_found_customer
from backupjobs.api.security import SECURITY, authorize, authorizing, principal_of
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, CodeTable, UnknownCodeError
from backupjobs.model import ServiceState
from backupjobs.readmodel import EncodedPage, render_page
from backupjobs.store.directory import customer_page, get_customer
from backupjobs.wire import CustomerRow, ModernJobRow, customer_row, modern_job_row

T = TypeVar("T")

CustomerId = Annotated[str, Parameter(description="The tenant owner ID of the customer.")]

_JOBS_READ = authorizing(Permission.MODERN_JOBS_READ)
_CUSTOMERS_READ = authorizing(Permission.MODERN_CUSTOMERS_READ)
_COLLECTION_ERRORS = problem_responses(400, 401, 403, 404, 429)
_JOB_FEED_RESPONSES = {200: ok_response(Feed[list[ModernJobRow]]), **_COLLECTION_ERRORS}
_encoder = msgspec.json.Encoder()
_JSON_MEDIA_TYPE = odata.JSON_MEDIA_TYPE.encode()
_VERSION_HEADER = (odata.VERSION_HEADER[0].lower().encode(), odata.VERSION_HEADER[1].encode())


class CustomerEntity(msgspec.Struct):
    """One customer as an OData entity: the context first, then the customer row's fields."""

    context: str = msgspec.field(name="@odata.context")
    customerId: str
    customerName: str
    createdTime: str

    @classmethod
    def of(cls, context: str, row: CustomerRow) -> CustomerEntity:
        return cls(context, *msgspec.structs.astuple(row))


def _code(table: CodeTable, text: str, parameter: str) -> int:
    """A code from a path segment: a name in any case, URL-encoded or not, or a number.

    ``+`` stands for a space, as form encoders (``HttpUtility.UrlEncode``) write it; no
    catalog name contains one.
    """
    try:
        return table.parse(text.replace("+", " ")).code
    except UnknownCodeError as error:
        raise ProblemError(400, f"Invalid path parameter {parameter}: {error}.") from None


async def _job_feed(
    request: Request[Any, Any, Any],
    principal: Principal,
    customer_id: str,
    *,
    job_type: int | None = None,
    job_module: int | None = None,
) -> ASGIResponse:
    """A customer's service rows (latest job or placeholder each) as an OData page."""
    query = odata.query_of(request)
    options = odata.collection_options(query)
    customer = customer_id_or_404(customer_id)
    now = datetime.now(UTC)
    page = await services(request).read_model.job_page(
        principal.scope,
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
    feed = _feed(
        request,
        odata.JOB_COLLECTION,
        query,
        options,
        page.rows,
        returned=page.count,
        total=page.total,
    )
    return JsonAnswer(
        _encoder.encode(feed), media_type=_JSON_MEDIA_TYPE, headers=(_VERSION_HEADER,)
    )


def _placeholder(
    job_type: int, job_module: int, options: CollectionOptions, now: datetime
) -> EncodedPage:
    """Asked about one service that has no row yet: it has not run, so the answer is the
    placeholder, exactly as the seed shows it."""
    first_page = options.offset == 0 and options.page_size > 0
    states = [ServiceState(job_type, job_module)] if first_page else []
    return render_page(states, modern_job_row, now, total=1).at(now)


def _feed(
    request: Request[Any, Any, Any],
    fragment: str,
    query: odata.Query,
    options: CollectionOptions,
    value: T,
    *,
    returned: int,
    total: int,
) -> Feed[T]:
    """The page ``value`` (``returned`` rows of ``total``) in its OData envelope."""
    public_url = services(request).settings.public_url
    return Feed(
        context=odata.context_url(public_url, fragment),
        count=total if options.count else None,
        next_link=odata.next_link(
            public_url, request.scope["path"], query, options, returned=returned, total=total
        ),
        value=value,
    )


@get(
    "/customers/{customer_id:str}/jobs/jobType/{job_type:str}/jobModule/{job_module:str}",
    before_request=_JOBS_READ,
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=_JOB_FEED_RESPONSES,
    operation_class=CollectionOperation,
    summary="Job details of one backup service of a customer",
    description=(
        "The service's latest job, or a placeholder row (status `Not Finished`) if it has "
        "never run (also when the customer has no record of this service). Job type "
        "and module are names from the catalog in any case (`Microsoft 365`, "
        "`SharePoint Online`), URL-encoded or not, or numeric codes."
    ),
    tags=["Modern"],
)
async def service_jobs(
    request: Request[Any, Any, Any],
    customer_id: CustomerId,
    job_type: Annotated[
        str, Parameter(description="The service type of the job: a name or a code.")
    ],
    job_module: Annotated[
        str, Parameter(description="The service module of the job: a name or a code.")
    ],
) -> ASGIResponse:
    type_code = _code(JOB_TYPES, job_type, "JobType")
    module_code = _code(JOB_MODULES, job_module, "JobModule")
    return await _job_feed(
        request, principal_of(request), customer_id, job_type=type_code, job_module=module_code
    )


@get(
    "/customers/{customer_id:str}/jobs",
    before_request=_JOBS_READ,
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=_JOB_FEED_RESPONSES,
    operation_class=CollectionOperation,
    summary="Job details of all backup services of a customer",
    description=(
        "One row per backup service of the customer: its latest job, or a placeholder row "
        "if it has never run. Ordered by job type, then job module (by code)."
    ),
    tags=["Modern"],
)
async def customer_jobs(
    request: Request[Any, Any, Any],
    customer_id: CustomerId,
) -> ASGIResponse:
    return await _job_feed(request, principal_of(request), customer_id)


@get(
    "/customers",
    before_request=_CUSTOMERS_READ,
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 429),
    operation_class=CollectionOperation,
    summary="The partner's customers",
    description="Customers visible to the app, ordered by name, then id.",
    tags=["Modern"],
)
async def customers(request: Request[Any, Any, Any]) -> Feed[list[CustomerRow]]:
    return await _customer_feed(request, principal_of(request))


async def _customer_feed(
    request: Request[Any, Any, Any], principal: Principal
) -> Feed[list[CustomerRow]]:
    query = odata.query_of(request)
    options = odata.collection_options(query)
    async with services(request).db.read() as connection:
        page = await customer_page(
            connection, principal.scope, offset=options.offset, limit=options.page_size
        )
    rows = [customer_row(row) for row in page.rows]
    return _feed(
        request, odata.CUSTOMERS, query, options, rows, returned=len(rows), total=page.total
    )


async def _customer(
    request: Request[Any, Any, Any], principal: Principal, customer_id: str
) -> CustomerEntity:
    odata.system_options(odata.query_of(request))
    customer = customer_id_or_404(customer_id)
    async with services(request).db.read() as connection:
        row = await get_customer(connection, principal.scope, customer)
    if row is None:
        raise not_found_customer(customer_id)
    public_url = services(request).settings.public_url
    return CustomerEntity.of(
        odata.context_url(public_url, odata.CUSTOMER_ENTITY), customer_row(row)
    )


@get(
    "/customers/{customer_id:str}",
    before_request=_CUSTOMERS_READ,
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 404, 429),
    summary="One customer",
    tags=["Modern"],
)
async def customer(
    request: Request[Any, Any, Any],
    customer_id: CustomerId,
) -> CustomerEntity:
    return await _customer(request, principal_of(request), customer_id)


# Generic OData clients build URLs from $metadata: the entity set by its name, Customers
# (matched in any case, as ASP.NET OData does), an entity by its key in parentheses:
# Customers(<id>), customers('<id>'), Customers(customerId=<id>), and its jobs below it.
_ENTITY_SEGMENT = re.compile(
    rf"{odata.CUSTOMERS}(?:\((?:customerId=)?('?)([^()']*)\1\))?", re.IGNORECASE
)
EntitySegment = Annotated[str, Parameter(description="Customers, or Customers(<Id>)")]


def _customer_key(segment: str) -> str | None:
    """The key of a ``Customers(<key>)`` segment, None for ``Customers``; else no route."""
    match = _ENTITY_SEGMENT.fullmatch(segment)
    if match is None:
        raise NotFoundException()
    key: str | None = match.group(2)
    return key


async def _principal(request: Request[Any, Any, Any], permission: Permission) -> Principal:
    # These routes match any segment, so the token is checked only once the segment has
    # turned out to be one of ours: elsewhere the answer stays an unknown path's 404.
    return await authorize(request, permission)


@get("/{segment:str}", media_type=odata.JSON_MEDIA_TYPE, include_in_schema=False)
async def customers_by_odata_url(
    request: Request[Any, Any, Any], segment: EntitySegment
) -> Feed[list[CustomerRow]] | CustomerEntity:
    key = _customer_key(segment)
    principal = await _principal(request, Permission.MODERN_CUSTOMERS_READ)
    if key is None:
        return await _customer_feed(request, principal)
    return await _customer(request, principal, key)


@get("/{segment:str}/jobs", media_type=odata.JSON_MEDIA_TYPE, include_in_schema=False)
async def customer_jobs_by_odata_url(
    request: Request[Any, Any, Any], segment: EntitySegment
) -> ASGIResponse:
    key = _customer_key(segment)
    if key is None:
        raise NotFoundException()
    principal = await _principal(request, Permission.MODERN_JOBS_READ)
    return await _job_feed(request, principal, key)


@get(
    "/$metadata",
    media_type=odata.XML_MEDIA_TYPE,
    responses=problem_responses(400),
    summary="OData CSDL document of the Modern feeds",
    description=(
        "OData v4 CSDL XML describing the entity types (`Portal.Api.Model.Customer`, "
        "`Portal.Api.Model.BackUpJob`) and the `Customers` entity set, for OData clients "
        "such as Power BI and Excel. Needs no token: it holds no tenant data."
    ),
    tags=["Modern"],
)
async def metadata(request: Request[Any, Any, Any]) -> Response[bytes]:
    odata.system_options(odata.query_of(request))
    return Response(odata.CSDL, media_type=odata.XML_MEDIA_TYPE)


@get(
    "/",
    media_type=odata.JSON_MEDIA_TYPE,
    responses=problem_responses(400),
    summary="OData service document of the Modern feeds",
    description="The entity sets at this service root. Needs no token.",
    tags=["Modern"],
)
async def service_root(request: Request[Any, Any, Any]) -> odata.ServiceDocument:
    odata.system_options(odata.query_of(request))
    return odata.service_document(services(request).settings.public_url)


router = Router(
    path=odata.SERVICE_ROOT,
    route_handlers=[
        service_root,
        metadata,
        customers,
        customer,
        customer_jobs,
        service_jobs,
        customers_by_odata_url,
        customer_jobs_by_odata_url,
    ],
    response_headers=[ResponseHeader(name=odata.VERSION_HEADER[0], value=odata.VERSION_HEADER[1])],
)
