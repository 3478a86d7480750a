"""The Modern partner API: GET, OData v4, names (seed ``001_91fa0af0a3e5788d.txt``).

An adapter over the same store queries and wire rows as the v3 API: it parses the
Modern request (names for codes, OData query options) and wraps the rows in OData
envelopes. Its job feeds are job pages (:mod:`.jobpages`); the customers, the service
document and ``$metadata`` are here. See :mod:`backupjobs.api.odata` for the OData parts.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from backupjobs.api import odata
from backupjobs.api.context import AppContext, health_clock
from backupjobs.api.odata import CollectionOperation, CustomerId, EntitySegment, Feed
from backupjobs.api.problems import problem_responses
from backupjobs.api.requests import customer_id_or_404, not_found_customer
from backupjobs.api.security import SECURITY, authorize, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.store.directory import customer_page, get_customer
from backupjobs.wire import ModernCustomerRow, modern_customer_row

_CUSTOMERS_READ = requires(Permission.MODERN_CUSTOMERS_READ)


class CustomerEntity(msgspec.Struct):
    """One customer as an OData entity: the context first, then the customer row's fields."""

    context: str = msgspec.field(name="@odata.context")
    id: str
    organization: str
    ownerEmail: str
    jobStatus: str
    countryOrRegion: str

    @classmethod
    def of(cls, context: str, row: ModernCustomerRow) -> CustomerEntity:
        return cls(context, *msgspec.structs.astuple(row))


async def _customer_feed(
    request: Request[Any, Any, Any], context: AppContext, principal: Principal
) -> Feed[list[ModernCustomerRow]]:
    query = odata.query_of(request)
    options = odata.collection_options(query)
    async with context.db.read() as connection:
        page = await customer_page(
            connection,
            principal.tenant_scope,
            clock=health_clock(context),
            offset=options.offset,
            limit=options.page_size,
        )
    rows = [modern_customer_row(customer) for customer in page.rows]
    return odata.feed(
        context.settings.public_url,
        request.scope["path"],
        odata.CUSTOMERS,
        query,
        options,
        rows,
        returned=len(rows),
        total=page.total,
    )


async def _customer(
    request: Request[Any, Any, Any], context: AppContext, principal: Principal, customer_id: str
) -> CustomerEntity:
    odata.system_options(odata.query_of(request))
    customer = customer_id_or_404(customer_id)
    async with context.db.read() as connection:
        found = await get_customer(
            connection, principal.tenant_scope, customer, clock=health_clock(context)
        )
    if found is None:
        raise not_found_customer(customer_id)
    return CustomerEntity.of(
        odata.context_url(context.settings.public_url, odata.CUSTOMER_ENTITY),
        modern_customer_row(found),
    )


@get(
    "/customers",
    guards=[_CUSTOMERS_READ],
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 429),
    operation_class=CollectionOperation,
    summary="The partner's customers",
    description=(
        "Customers visible to the app, ordered by organization, then id, each with its "
        "backup health (jobStatus, by name)."
    ),
    tags=["Modern"],
)
async def customers(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Feed[list[ModernCustomerRow]]:
    return await _customer_feed(request, context, principal)


@get(
    "/customers/{customer_id:str}",
    guards=[_CUSTOMERS_READ],
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 404, 429),
    summary="One customer",
    tags=["Modern"],
)
async def customer(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    customer_id: CustomerId,
) -> CustomerEntity:
    return await _customer(request, context, principal, customer_id)


def _entity_set(permission: Permission) -> Guard:
    """A guard for the routes that match any segment: a segment that is not one of ours
    stays an unknown path's 404 whatever the token; one of ours needs ``permission``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        odata.customer_key(connection.path_params["segment"])
        await authorize(connection, permission)

    return guard


@get(
    "/{segment:str}",
    guards=[_entity_set(Permission.MODERN_CUSTOMERS_READ)],
    media_type=odata.JSON_MEDIA_TYPE,
    include_in_schema=False,
)
async def customers_by_odata_url(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    segment: EntitySegment,
) -> Feed[list[ModernCustomerRow]] | CustomerEntity:
    key = odata.customer_key(segment)
    if key is None:
        return await _customer_feed(request, context, principal)
    return await _customer(request, context, principal, key)


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
async def service_root(
    request: Request[Any, Any, Any], context: NamedDependency[AppContext]
) -> odata.ServiceDocument:
    odata.system_options(odata.query_of(request))
    return odata.service_document(context.settings.public_url)


ROUTES = [service_root, metadata, customers, customer, customers_by_odata_url]
