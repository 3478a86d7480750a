"""The Modern partner API: GET, OData v4, names (seed ``001_91fa0af0a3e5788d.txt``).

An adapter over the same store queries and wire rows as the v3 API: it parses the
Modern request (names for codes, OData query options) and wraps the rows in OData
envelopes. Its job feeds are job pages (:mod:`.jobpages`); the customers, the service
document and ``$metadata`` are here. See :mod:`backupjobs.api.odata` for the OData parts.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ControllerRouterHandler, Guard

from backupjobs.api import odata
from backupjobs.api.context import AppContext, health_clock
from backupjobs.api.odata import (
    FULL_METADATA,
    NO_METADATA,
    CollectionOperation,
    CustomerId,
    EntitySegment,
    Feed,
    Negotiated,
)
from backupjobs.api.problems import odata_error_responses
from backupjobs.api.requests import customer_id_or_404, not_found_customer
from backupjobs.api.security import SECURITY, authorize, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.store.directory import customer_page, get_customer
from backupjobs.wire import ModernCustomerRow, modern_customer_row

_CUSTOMERS_READ = requires(Permission.MODERN_CUSTOMERS_READ)
#: The errors every OData resource can answer: a bad or unimplemented option, a format
#: it cannot serve, a snapshot asked for.
_ODATA_ERRORS = (400, 406, 412, 501)


class CustomerEntity(msgspec.Struct):
    """One customer as an OData entity: the context first, then the customer row's fields."""

    context: str = msgspec.field(name="@odata.context")
    id: str
    organization: str
    ownerEmail: str
    jobStatus: str
    countryOrRegion: str


def _ok(body: type[Any]) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=body, description="OK", media_type=odata.JSON_MEDIA_TYPE,
            generate_examples=False,
        )
    }  # fmt: skip


def _customer_value(public_url: str, row: ModernCustomerRow, negotiated: Negotiated) -> Any:
    """A customer row as the negotiated metadata level writes it."""
    if negotiated.metadata == FULL_METADATA:
        return odata.full_customer(public_url, msgspec.structs.asdict(row))
    return row


async def _customer_feed(
    request: Request[Any, Any, Any], context: AppContext, principal: Principal
) -> Response[Any]:
    query, options, negotiated = odata.collection_request(request)
    async with context.db.read() as connection:
        page = await customer_page(
            connection,
            principal.tenant_scope,
            clock=health_clock(context),
            offset=options.offset,
            limit=options.page_size,
        )
    public_url = context.settings.public_url
    rows = [_customer_value(public_url, modern_customer_row(row), negotiated) for row in page.rows]
    body = odata.feed(
        public_url,
        request.scope["path"],
        odata.CUSTOMERS,
        query,
        options,
        rows,
        returned=len(rows),
        total=page.total,
        metadata=negotiated.metadata,
    )
    return odata.answer(body, negotiated)


async def _customer(
    request: Request[Any, Any, Any], context: AppContext, principal: Principal, customer_id: str
) -> Response[Any]:
    negotiated = odata.entity_request(request)
    customer = customer_id_or_404(customer_id)
    async with context.db.read() as connection:
        row = await get_customer(
            connection, principal.tenant_scope, customer, clock=health_clock(context)
        )
    if row is None:
        raise not_found_customer(customer_id)
    public_url = context.settings.public_url
    entity: dict[str, Any] = {}
    if negotiated.metadata != NO_METADATA:
        entity["@odata.context"] = odata.context_url(public_url, odata.CUSTOMER_ENTITY)
    value = _customer_value(public_url, modern_customer_row(row), negotiated)
    entity.update(value if isinstance(value, dict) else msgspec.structs.asdict(value))
    return odata.answer(entity, negotiated)


async def _customer_count(
    request: Request[Any, Any, Any], context: AppContext, principal: Principal
) -> Response[str]:
    odata.entity_request(request)
    async with context.db.read() as connection:
        page = await customer_page(
            connection, principal.tenant_scope, clock=health_clock(context), offset=0, limit=0
        )
    return odata.count_answer(page.total)


@get(
    "/",
    guards=[_CUSTOMERS_READ],
    media_type=odata.JSON_MEDIA_TYPE,
    responses={
        **_ok(Feed[list[ModernCustomerRow]]),
        **odata_error_responses(*_ODATA_ERRORS, 401, 403, 429),
    },
    operation_class=CollectionOperation,
    summary="The partner's customers",
    description=(
        "Customers visible to the app, ordered by organization, then id, each with its "
        "backup health (jobStatus, by name)."
    ),
)
async def customers(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    return await _customer_feed(request, context, principal)


@get(
    "/$count",
    guards=[_CUSTOMERS_READ],
    media_type=odata.TEXT_MEDIA_TYPE,
    responses=odata_error_responses(*_ODATA_ERRORS, 401, 403, 429),
    summary="How many customers the partner has",
    description="The number of customers visible to the app, as text (`Customers/$count`).",
)
async def customer_count(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[str]:
    return await _customer_count(request, context, principal)


@get(
    "/{customer_id:str}",
    guards=[_CUSTOMERS_READ],
    media_type=odata.JSON_MEDIA_TYPE,
    responses={**_ok(CustomerEntity), **odata_error_responses(*_ODATA_ERRORS, 401, 403, 404, 429)},
    summary="One customer",
)
async def customer(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    customer_id: CustomerId,
) -> Response[Any]:
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
) -> Response[Any]:
    key = odata.customer_key(segment)
    if key is None:
        return await _customer_feed(request, context, principal)
    return await _customer(request, context, principal, key)


@get(
    "/{segment:str}/$count",
    guards=[_entity_set(Permission.MODERN_CUSTOMERS_READ)],
    media_type=odata.TEXT_MEDIA_TYPE,
    include_in_schema=False,
)
async def customer_count_by_odata_url(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    segment: EntitySegment,
) -> Response[str]:
    if odata.customer_key(segment) is not None:
        # Customers(<id>)/$count: an entity is not a collection.
        raise odata.not_a_collection(segment)
    return await _customer_count(request, context, principal)


@get(
    "/$metadata",
    media_type=odata.XML_MEDIA_TYPE,
    responses=odata_error_responses(*_ODATA_ERRORS),
    summary="OData CSDL document of the Modern feeds",
    description=(
        "OData v4 CSDL XML describing the entity types (`Portal.Api.Model.Customer`, "
        "`Portal.Api.Model.BackUpJob`) and the `Customers` entity set, for OData clients "
        "such as Power BI and Excel. Needs no token: it holds no tenant data."
    ),
    tags=["Modern"],
)
async def metadata(request: Request[Any, Any, Any]) -> Response[bytes]:
    return odata.metadata_answer(request, odata.CSDL)


@get(
    "/",
    media_type=odata.JSON_MEDIA_TYPE,
    responses={**_ok(odata.ServiceDocument), **odata_error_responses(*_ODATA_ERRORS)},
    summary="OData service document of the Modern feeds",
    description="The entity sets at this service root. Needs no token.",
    tags=["Modern"],
)
async def service_root(
    request: Request[Any, Any, Any], context: NamedDependency[AppContext]
) -> Response[Any]:
    negotiated = odata.entity_request(request)
    document = odata.service_document(
        odata.metadata_url(context.settings.public_url), [odata.CUSTOMERS]
    )
    return odata.answer(document, negotiated)


#: The customers set's routes; the guard stays on each: on a router it would guard the
#: OPTIONS answers too.
CUSTOMERS = Router(
    "/customers",
    security=SECURITY,
    tags=["Modern"],
    route_handlers=[customers, customer_count, customer],
)

ROUTES: list[ControllerRouterHandler] = [
    service_root,
    metadata,
    CUSTOMERS,
    customers_by_odata_url,
    customer_count_by_odata_url,
]
