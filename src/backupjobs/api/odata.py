"""OData v4 for the Modern API: the ``$metadata`` document, context URLs, collection paging.

The Modern feeds are an OData service rooted at ``/partner``: the entity set ``Customers``
(``Portal.Api.Model.Customer``) and, contained in each customer, its ``jobs``
(``Portal.Api.Model.BackUpJob``, the seed's type name). Property lists come from the wire
rows themselves, so the document cannot drift from what the feeds write.

>>> context_url("https://backup.example.com", CUSTOMERS)
'https://backup.example.com/partner/$metadata#Customers'
>>> options = collection_options([("$top", "2"), ("$skip", "4")])
>>> (options.page_size, options.skip, options.count)
(2, 4, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlencode
from xml.dom.minidom import parseString

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import OpenAPIType, Operation, Schema
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.params import Parameter

from backupjobs.api.problems import ProblemError
from backupjobs.api.requests import MAX_OFFSET
from backupjobs.wire import ModernCustomerRow, ModernJobRow

T = TypeVar("T")

SERVICE_ROOT = "/partner"
NAMESPACE = "Portal.Api.Model"
JOB_TYPE = f"{NAMESPACE}.BackUpJob"
CUSTOMER_TYPE = f"{NAMESPACE}.Customer"
#: The entity set of customers, named as the vendor's context URLs name it; its documented
#: path is ``/partner/customers``, and it answers at its name too (see ``modern``).
CUSTOMERS = "Customers"
#: The navigation property from a customer to its jobs (``customers/{Id}/jobs``).
JOBS = "jobs"
#: The context fragment of every jobs feed, as in the seed's response sample.
JOB_COLLECTION = f"Collection({JOB_TYPE})"
CUSTOMER_ENTITY = f"{CUSTOMERS}/$entity"

JSON_MEDIA_TYPE = "application/json; odata.metadata=minimal"
XML_MEDIA_TYPE = "application/xml"
VERSION_HEADER = ("OData-Version", "4.0")

#: Rows per response when the client gives no ``$top``.
DEFAULT_PAGE_SIZE = 100
#: The largest ``$top`` accepted.
MAX_PAGE_SIZE = 1000

TOP, SKIP, COUNT = "$top", "$skip", "$count"
COLLECTION_OPTIONS = (TOP, SKIP, COUNT)


def metadata_url(public_url: str) -> str:
    return f"{public_url}{SERVICE_ROOT}/$metadata"


def context_url(public_url: str, fragment: str) -> str:
    """The ``@odata.context`` of a response: the metadata URL and what the payload holds."""
    return f"{metadata_url(public_url)}#{fragment}"


class Feed(msgspec.Struct, Generic[T], kw_only=True, omit_defaults=True):
    """A collection response (``Feed[list[Row]]``, or ``Feed[msgspec.Raw]`` with the rows'
    JSON array); the context comes first, the annotations before ``value``."""

    context: str = msgspec.field(name="@odata.context")
    count: int | None = msgspec.field(default=None, name="@odata.count")
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")
    value: T


class EntitySetLink(msgspec.Struct):
    name: str
    kind: str
    url: str


class ServiceDocument(msgspec.Struct):
    """What the service root answers: where the entity sets are."""

    context: str = msgspec.field(name="@odata.context")
    value: list[EntitySetLink]


def service_document(public_url: str) -> ServiceDocument:
    return ServiceDocument(
        context=metadata_url(public_url),
        value=[EntitySetLink(name=CUSTOMERS, kind="EntitySet", url=CUSTOMERS)],
    )


def feed(
    public_url: str,
    path: str,
    fragment: str,
    query: QueryParameters,
    options: CollectionOptions,
    value: T,
    *,
    returned: int,
    total: int,
) -> Feed[T]:
    """The page ``value`` (``returned`` rows of ``total``) of the collection at ``path``,
    in its OData envelope."""
    return Feed(
        context=context_url(public_url, fragment),
        count=total if options.count else None,
        next_link=next_link(public_url, path, query, options, returned=returned, total=total),
        value=value,
    )


# --- entity URLs -----------------------------------------------------------------------

CustomerId = Annotated[str, Parameter(description="The tenant owner ID of the customer.")]

# Generic OData clients build URLs from $metadata: the entity set by its name, Customers
# (matched in any case, as ASP.NET OData does), an entity by its key in parentheses:
# Customers(<id>), customers('<id>'), Customers(id=<id>), and its jobs below it.
_ENTITY_SEGMENT = re.compile(rf"{CUSTOMERS}(?:\((?:id=)?('?)([^()']*)\1\))?", re.IGNORECASE)
EntitySegment = Annotated[str, Parameter(description="Customers, or Customers(<Id>)")]


def customer_key(segment: str) -> str | None:
    """The key of a ``Customers(<key>)`` segment, None for ``Customers``; else no route."""
    match = _ENTITY_SEGMENT.fullmatch(segment)
    if match is None:
        raise NotFoundException()
    key: str | None = match.group(2)
    return key


# --- query options ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectionOptions:
    """``$top`` (the page size, as in Microsoft Graph), ``$skip`` and ``$count``."""

    top: int | None = None
    skip: int = 0
    count: bool = False

    @property
    def page_size(self) -> int:
        return DEFAULT_PAGE_SIZE if self.top is None else self.top

    @property
    def offset(self) -> int:
        # Offsets past this are past the end anyway; clamping keeps the SQL in range.
        return min(self.skip, MAX_OFFSET)


#: A request's query parameters, in the order given.
QueryParameters = list[tuple[str, str]]


def query_of(request: Request[Any, Any, Any]) -> QueryParameters:
    raw: bytes = request.scope["query_string"]
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


def collection_options(query: QueryParameters) -> CollectionOptions:
    """The paging options of a collection request, or a 400 problem naming the bad one."""
    given = system_options(query, COLLECTION_OPTIONS)
    top = skip = None
    if TOP in given:
        top = _whole_number(given[TOP], "$top", maximum=MAX_PAGE_SIZE)
    if SKIP in given:
        skip = _whole_number(given[SKIP], "$skip")
    return CollectionOptions(top=top, skip=skip or 0, count=_boolean(given.get(COUNT), COUNT))


def system_options(query: QueryParameters, supported: Iterable[str] = ()) -> dict[str, str]:
    """The OData system query options of a request, all of them ``supported``.

    System options start with ``$`` (any case, as OData 4.01 allows) and parameter aliases
    with ``@``; any of those this endpoint does not support, or one given twice, is a 400.
    Other parameters are custom query options: OData leaves them to the client, so they
    are ignored.
    """
    allowed = tuple(supported)
    found: dict[str, str] = {}
    for name, value in query:
        if not name.startswith(("$", "@")):
            continue
        canonical = name.lower()
        if canonical not in allowed:
            where = f"; supported: {', '.join(allowed)}" if allowed else ""
            raise ProblemError(
                400, f"The query option {name} is not supported on this resource{where}."
            )
        if canonical in found:
            raise ProblemError(400, f"The query option {name} is given more than once.")
        found[canonical] = value
    return found


_MAX_DIGITS = 18


def _whole_number(text: str, option: str, *, maximum: int | None = None) -> int:
    limit = f" from 0 to {maximum}" if maximum is not None else " of 0 or more"
    problem = ProblemError(
        400, f"Invalid query option {option}: {text!r} is not a whole number{limit}."
    )
    if not (text.isascii() and text.isdigit()):
        raise problem
    digits = text.lstrip("0") or "0"
    # Any number this long is past every page and every limit; int() of thousands of
    # digits would be refused (and slow), so it is not attempted.
    value = int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
    if maximum is not None and value > maximum:
        raise problem
    return value


def _boolean(text: str | None, option: str) -> bool:
    if text is None:
        return False
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ProblemError(400, f"Invalid query option {option}: {text!r} is not true or false.")
    return lowered == "true"


#: Kept as they are in a next link's path: the key syntax of ``customers('<id>')``.
_PATH_SAFE = "/()'=:@"


def next_link(
    public_url: str,
    path: str,
    query: QueryParameters,
    options: CollectionOptions,
    *,
    returned: int,
    total: int,
) -> str | None:
    """The URL of the next page while rows remain past this one, else None.

    It repeats the request with ``$skip`` moved on, keeping every other option.
    """
    following = options.skip + returned
    if returned == 0 or following >= total:
        return None
    pairs = [(name, value) for name, value in query if name.lower() != SKIP]
    pairs.append((SKIP, str(following)))
    query_text = urlencode(pairs, safe="$", quote_via=quote)
    return f"{public_url}{quote(path, safe=_PATH_SAFE)}?{query_text}"


def _option(name: str, schema: Schema, description: str) -> OpenAPIParameter:
    return OpenAPIParameter(
        name=name,
        param_in=ParamType.QUERY,
        schema=schema,
        required=False,
        description=description,
    )


_COLLECTION_PARAMETERS = (
    _option(
        TOP,
        Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_PAGE_SIZE),
        f"Rows per page, 0 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}). "
        "`@odata.nextLink` leads to the next page while rows remain.",
    ),
    _option(SKIP, Schema(type=OpenAPIType.INTEGER, minimum=0), "Rows to skip."),
    _option(
        COUNT,
        Schema(type=OpenAPIType.BOOLEAN),
        "`true` adds `@odata.count`, the number of rows over all pages.",
    ),
)


@dataclass
class CollectionOperation(Operation):
    """An OpenAPI operation documenting the collection options a handler reads itself."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), *_COLLECTION_PARAMETERS]


# --- $metadata -------------------------------------------------------------------------

_EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
_EDM = "http://docs.oasis-open.org/odata/ns/edm"
_CAPABILITIES = "Org.OData.Capabilities.V1"
_CAPABILITIES_URI = (
    "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml"
)


def _entity_type(
    name: str,
    row: type[msgspec.Struct],
    keys: Iterable[str],
    types: Mapping[str, str],
    extra: Iterable[str] = (),
) -> list[str]:
    """An EntityType whose properties are ``row``'s fields (Edm.String unless in ``types``)."""
    fields = [field.encode_name for field in msgspec.structs.fields(row)]
    return [
        f'<EntityType Name="{name}">',
        "<Key>",
        *(f'<PropertyRef Name="{key}"/>' for key in keys),
        "</Key>",
        *(
            f'<Property Name="{field}" Type="{types.get(field, "Edm.String")}" Nullable="false"/>'
            for field in fields
        ),
        *extra,
        "</EntityType>",
    ]


def _record(term: str, **values: bool) -> str:
    """A capability annotation: a record of booleans, or one boolean given as ``value``."""
    if list(values) == ["value"]:
        return f'<Annotation Term="Capabilities.{term}" Bool="{str(values["value"]).lower()}"/>'
    properties = "".join(
        f'<PropertyValue Property="{name}" Bool="{str(value).lower()}"/>'
        for name, value in values.items()
    )
    return f'<Annotation Term="Capabilities.{term}"><Record>{properties}</Record></Annotation>'


def _csdl() -> bytes:
    # What a collection supports, stated for clients that read capabilities: paging and
    # counting; no filtering, sorting, expanding, selecting or searching.
    capabilities = [
        _record("TopSupported", value=True),
        _record("SkipSupported", value=True),
        _record("CountRestrictions", Countable=True),
        _record("FilterRestrictions", Filterable=False),
        _record("SortRestrictions", Sortable=False),
        _record("ExpandRestrictions", Expandable=False),
        _record("SelectSupport", Supported=False),
        _record("SearchRestrictions", Searchable=False),
    ]
    lines = [
        f'<edmx:Edmx Version="4.0" xmlns:edmx="{_EDMX}">',
        f'<edmx:Reference Uri="{_CAPABILITIES_URI}">',
        f'<edmx:Include Namespace="{_CAPABILITIES}" Alias="Capabilities"/>',
        "</edmx:Reference>",
        "<edmx:DataServices>",
        f'<Schema Namespace="{NAMESPACE}" xmlns="{_EDM}">',
        *_entity_type(
            JOB_TYPE.rpartition(".")[2], ModernJobRow, keys=("jobType", "jobModule"), types={}
        ),
        *_entity_type(
            CUSTOMER_TYPE.rpartition(".")[2],
            ModernCustomerRow,
            keys=("id",),
            types={"id": "Edm.Guid"},
            extra=[
                f'<NavigationProperty Name="{JOBS}" Type="Collection({JOB_TYPE})" '
                'ContainsTarget="true"/>'
            ],
        ),
        '<EntityContainer Name="Container">',
        f'<EntitySet Name="{CUSTOMERS}" EntityType="{CUSTOMER_TYPE}">',
        *capabilities,
        "</EntitySet>",
        "</EntityContainer>",
        "</Schema>",
        "</edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    # Parsing our own constant text: indents it for readers and proves it well-formed.
    pretty = parseString("".join(lines))  # noqa: S318
    document: bytes = pretty.toprettyxml(indent="  ", encoding="utf-8")
    return document


#: The CSDL XML document served at ``/partner/$metadata``; the same for every tenant.
CSDL = _csdl()
