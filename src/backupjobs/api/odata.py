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

The protocol parts (errors in :mod:`.problems`, content negotiation, system query options,
server-driven paging) follow OData 4.0 Protocol, JSON Format and URL Conventions:
``docs/odata.md`` says what is supported and how each refusal reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlencode
from uuid import UUID
from xml.dom.minidom import parseString

import msgspec
from litestar import Request, Response
from litestar.enums import ParamType
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import OpenAPIType, Operation, Schema
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.params import Parameter

from backupjobs.api.problems import ODATA_SERVICE_ROOTS, ODATA_VERSION, ProblemError
from backupjobs.api.requests import MAX_OFFSET
from backupjobs.wire import ModernCustomerRow, ModernJobRow

T = TypeVar("T")

SERVICE_ROOT = ODATA_SERVICE_ROOTS[0]
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

JSON, XML = "application/json", "application/xml"
JSON_MEDIA_TYPE = "application/json; odata.metadata=minimal"
XML_MEDIA_TYPE = "application/xml"
TEXT_MEDIA_TYPE = "text/plain"
VERSION_HEADER = ODATA_VERSION

#: Rows per response (the service's page size) unless ``Prefer: odata.maxpagesize``
#: asks for fewer.
DEFAULT_PAGE_SIZE = 100
#: The largest page served, whatever ``odata.maxpagesize`` asks.
MAX_PAGE_SIZE = 1000

TOP, SKIP, COUNT, FORMAT = "$top", "$skip", "$count", "$format"
SKIPTOKEN = "$skiptoken"
COLLECTION_OPTIONS = (TOP, SKIP, COUNT)
#: Every system query option of OData 4.01 (URL Conventions section 5): one of these that
#: a resource does not support is a 501; any other ``$`` name is a 400.
SYSTEM_OPTIONS = frozenset(
    {
        "$apply", "$compute", "$count", "$deltatoken", "$expand", "$filter", "$format",
        "$id", "$index", "$levels", "$orderby", "$schemaversion", "$search", "$select",
        "$skip", "$skiptoken", "$top",
    }
)  # fmt: skip


def metadata_url(public_url: str) -> str:
    return f"{public_url}{SERVICE_ROOT}/$metadata"


def context_url(public_url: str, fragment: str) -> str:
    """The ``@odata.context`` of a response: the metadata URL and what the payload holds."""
    return f"{metadata_url(public_url)}#{fragment}"


class Feed(msgspec.Struct, Generic[T], kw_only=True, omit_defaults=True):
    """A collection response (``Feed[list[Row]]``, or ``Feed[msgspec.Raw]`` with the rows'
    JSON array); the context comes first (absent with ``odata.metadata=none``), the
    annotations before ``value``."""

    context: str | None = msgspec.field(default=None, name="@odata.context")
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


def service_document(metadata: str, entity_sets: Iterable[str]) -> ServiceDocument:
    """A service root's answer: its ``$metadata`` URL and its entity sets."""
    return ServiceDocument(
        context=metadata,
        value=[EntitySetLink(name=name, kind="EntitySet", url=name) for name in entity_sets],
    )


def metadata_answer(request: Request[Any, Any, Any], csdl: bytes) -> Response[bytes]:
    """A service's ``$metadata``: its CSDL document, if the request takes XML."""
    entity_request(request, serves=XML)
    return Response(csdl, media_type=XML_MEDIA_TYPE)


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
    metadata: str = "minimal",
) -> Feed[T]:
    """The page ``value`` (``returned`` rows of ``total``) of the collection at ``path``,
    in its OData envelope."""
    return Feed(
        context=None if metadata == NO_METADATA else context_url(public_url, fragment),
        count=total if options.count else None,
        next_link=next_link(public_url, path, query, options, returned=returned, total=total),
        value=value,
    )


def entity_id(public_url: str, path: str) -> str:
    """The ``@odata.id`` of the entity at ``path`` (relative to the service root)."""
    return f"{public_url}{SERVICE_ROOT}/{quote(path, safe=_PATH_SAFE)}"


def string_literal(value: str) -> str:
    """An OData string literal: quoted, a quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def full_customer(public_url: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A customer with full metadata: its type, id, link to its jobs and typed values."""
    key = f"{CUSTOMERS}({row['id']})"
    annotated: dict[str, Any] = {
        "@odata.type": f"#{CUSTOMER_TYPE}",
        "@odata.id": entity_id(public_url, key),
    }
    for name, value in row.items():
        if name in CUSTOMER_TYPES:
            annotated[f"{name}@odata.type"] = "#" + CUSTOMER_TYPES[name].removeprefix("Edm.")
        annotated[name] = value
    annotated[f"{JOBS}@odata.navigationLink"] = entity_id(public_url, f"{key}/{JOBS}")
    return annotated


def full_job(public_url: str, customer_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A job row with full metadata: its type and id."""
    key = ",".join(f"{name}={string_literal(row[name])}" for name in JOB_KEYS)
    return {
        "@odata.type": f"#{JOB_TYPE}",
        "@odata.id": entity_id(public_url, f"{CUSTOMERS}({customer_id})/{JOBS}({key})"),
        **row,
    }


def answer(body: Any, negotiated: Negotiated) -> Response[Any]:
    """A JSON answer in the negotiated form (its media type, ``Preference-Applied``)."""
    return Response(body, media_type=negotiated.media_type, headers=negotiated.headers())


def count_answer(total: int) -> Response[str]:
    """The answer of a ``/$count`` segment: the number as text."""
    return Response(str(total), media_type=TEXT_MEDIA_TYPE)


def not_a_collection(segment: str) -> ProblemError:
    return ProblemError(
        400, f"{segment} is one entity, not a collection: $count applies to collections.",
        target="$count",
    )  # fmt: skip


# --- entity URLs -----------------------------------------------------------------------

#: Kept as they are in a next link's path: the key syntax of ``customers('<id>')``.
_PATH_SAFE = "/()'=:@,"

CustomerId = Annotated[str, Parameter(description="The tenant owner ID of the customer.")]

# Generic OData clients build URLs from $metadata: the entity set by its name, Customers
# (matched in any case, as ASP.NET OData does), an entity by its key in parentheses:
# Customers(<id>), customers('<id>'), Customers(id=<id>), and its jobs below it.
_ENTITY_SEGMENT = re.compile(rf"{CUSTOMERS}(?:\(([^()]*)\))?", re.IGNORECASE)
_CUSTOMER_KEY = re.compile(r"(?:id=)?('?)([0-9a-fA-F-]{32,36})\1", re.IGNORECASE)
EntitySegment = Annotated[str, Parameter(description="Customers, or Customers(<Id>)")]


def customer_key(segment: str) -> str | None:
    """The key of a ``Customers(<key>)`` segment, None for ``Customers``; another
    segment is no route (404), a key that is not a GUID a 400."""
    match = _ENTITY_SEGMENT.fullmatch(segment)
    if match is None:
        raise NotFoundException()
    text: str | None = match.group(1)
    if text is None:
        return None
    key = _CUSTOMER_KEY.fullmatch(text)
    try:
        return str(UUID(key.group(2))) if key else str(UUID(text or "-"))
    except ValueError:
        raise ProblemError(
            400,
            f"Invalid key {text!r} of Customers: the key is id, a GUID "
            "(Edm.Guid), as in Customers(3fa85f64-5717-4562-b3fc-2c963f66afa6).",
            target="id",
        ) from None


#: A job's key segment, ``jobs(jobType='Microsoft 365',jobModule='SharePoint Online')``:
#: both properties named, in either order, string literals with ``''`` for a quote.
_JOB_SEGMENT = re.compile(rf"{JOBS}\((.*)\)", re.IGNORECASE | re.DOTALL)
_KEY_PART = re.compile(r"\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*")
JOB_KEYS = ("jobType", "jobModule")
#: The customer properties that are not Edm.String.
CUSTOMER_TYPES = {"id": "Edm.Guid"}


def job_key(segment: str) -> tuple[str, str]:
    """The (jobType, jobModule) names of a ``jobs(...)`` segment; another segment is no
    route (404), a malformed key a 400."""
    match = _JOB_SEGMENT.fullmatch(segment)
    if match is None:
        raise NotFoundException()
    text = match.group(1)
    values: dict[str, str] = {}
    position = 0
    while position < len(text):
        part = _KEY_PART.match(text, position)
        name = part.group(1) if part else None
        canonical = next((key for key in JOB_KEYS if key.lower() == (name or "").lower()), None)
        if part is None or canonical is None or canonical in values:
            break
        values[canonical] = part.group(2).replace("''", "'")
        position = part.end()
        if position < len(text):
            if text[position] != ",":
                break
            position += 1
    else:
        if len(values) == len(JOB_KEYS):
            return values["jobType"], values["jobModule"]
    raise ProblemError(
        400,
        f"Invalid key {text!r} of jobs: the key is jobType and jobModule, both named, as "
        "in jobs(jobType='Microsoft 365',jobModule='SharePoint Online').",
        target="jobs",
    )


# --- query options ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectionOptions:
    """``$top`` (how many rows in all), ``$skip``, ``$count``, and the page size of
    server-driven paging (the service's, or fewer if ``Prefer: odata.maxpagesize`` asks)."""

    top: int | None = None
    skip: int = 0
    count: bool = False
    max_page_size: int = DEFAULT_PAGE_SIZE

    @property
    def page_size(self) -> int:
        """Rows on this response: at most a page, and no more than ``$top`` asks."""
        return self.max_page_size if self.top is None else min(self.top, self.max_page_size)

    @property
    def offset(self) -> int:
        # Offsets past this are past the end anyway; clamping keeps the SQL in range.
        return min(self.skip, MAX_OFFSET)


#: A request's query parameters, in the order given.
QueryParameters = list[tuple[str, str]]


def query_of(request: Request[Any, Any, Any]) -> QueryParameters:
    raw: bytes = request.scope["query_string"]
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


def collection_options(
    query: QueryParameters, *, max_page_size: int | None = None
) -> CollectionOptions:
    """The paging options of a collection request, or an error naming the bad one;
    ``max_page_size``: what ``Prefer: odata.maxpagesize`` asked (:func:`negotiate`)."""
    return _paging(system_options(query, COLLECTION_OPTIONS), max_page_size)


def collection_request(
    request: Request[Any, Any, Any],
) -> tuple[QueryParameters, CollectionOptions, Negotiated]:
    """A collection request's query, paging options and negotiated form."""
    query = query_of(request)
    given = system_options(query, COLLECTION_OPTIONS)
    negotiated = negotiate(request.scope["headers"], given.get(FORMAT))
    return query, _paging(given, negotiated.max_page_size), negotiated


def entity_request(
    request: Request[Any, Any, Any], *, serves: str = JSON, supported: Iterable[str] = ()
) -> Negotiated:
    """The negotiated form of a request for one resource, which takes no query options
    but ``$format`` (and ``supported``)."""
    given = system_options(query_of(request), supported)
    return negotiate(request.scope["headers"], given.get(FORMAT), serves=serves)


def _paging(given: Mapping[str, str], max_page_size: int | None) -> CollectionOptions:
    top = skip = None
    if TOP in given:
        top = _whole_number(given[TOP], "$top")
    if SKIP in given:
        skip = _whole_number(given[SKIP], "$skip")
    return CollectionOptions(
        top=top,
        skip=skip or 0,
        count=_boolean(given.get(COUNT), COUNT),
        max_page_size=max_page_size or DEFAULT_PAGE_SIZE,
    )


def system_options(query: QueryParameters, supported: Iterable[str] = ()) -> dict[str, str]:
    """The OData system query options of a request, all of them ``supported``
    (``$format`` always is: :func:`negotiate` reads it).

    System options start with ``$`` (any case, as OData 4.01 allows) and parameter aliases
    with ``@``. One that OData defines and this resource does not support is a 501 (OData
    Protocol 9.3.1); an unknown one, an alias, or one given twice is a 400. Other
    parameters are custom query options: OData leaves them to the client, so they are
    ignored.
    """
    allowed = (*supported, FORMAT)
    found: dict[str, str] = {}
    for name, value in query:
        if not name.startswith(("$", "@")):
            continue
        canonical = name.lower()
        if canonical not in allowed:
            where = f"; supported: {', '.join(allowed)}"
            if canonical in SYSTEM_OPTIONS:
                raise ProblemError(
                    501, f"The query option {name} is not implemented on this resource{where}.",
                    target=name,
                )  # fmt: skip
            raise ProblemError(
                400,
                f"The query option {name} is not an OData query option{where}.",
                target=name,
            )
        if canonical in found:
            raise ProblemError(
                400, f"The query option {name} is given more than once.", target=name
            )
        found[canonical] = value
    return found


# --- content negotiation ---------------------------------------------------------------

MINIMAL_METADATA, FULL_METADATA, NO_METADATA = "minimal", "full", "none"
METADATA_LEVELS = (MINIMAL_METADATA, FULL_METADATA, NO_METADATA)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What a request asked of the answer's form: its ``odata.metadata`` level and the
    page size of ``Prefer: odata.maxpagesize`` (None: not asked)."""

    metadata: str = MINIMAL_METADATA
    max_page_size: int | None = None

    @property
    def media_type(self) -> str:
        return f"application/json; odata.metadata={self.metadata}"

    def headers(self) -> dict[str, str]:
        """``Preference-Applied`` when a page size was asked for and used."""
        if self.max_page_size is None:
            return {}
        return {"Preference-Applied": f"odata.maxpagesize={self.max_page_size}"}


MINIMAL = Negotiated()
_NEGOTIATION_HEADERS = frozenset(
    (b"accept", b"odata-maxversion", b"odata-isolation", b"isolation", b"prefer")
)


def negotiate(
    headers: Iterable[tuple[bytes, bytes]], format_option: str | None, *, serves: str = JSON
) -> Negotiated:
    """The form of an answer of media type ``serves``: from ``$format`` (which overrides
    ``Accept``), ``Accept``, ``OData-MaxVersion``, ``OData-Isolation`` and ``Prefer``
    (``headers``: the ASGI scope's). What cannot be served is a 406, a snapshot 412."""
    found: dict[bytes, str] = {}
    for name, value in headers:
        if name in _NEGOTIATION_HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    if not found and format_option is None:
        return MINIMAL
    isolation = found.get(b"odata-isolation") or found.get(b"isolation")
    if isolation is not None:
        raise ProblemError(
            412,
            f"OData-Isolation: {isolation} is not supported: this service reads without "
            "snapshot isolation; send the request without it.",
            target="OData-Isolation",
        )
    _check_max_version(found.get(b"odata-maxversion"))
    if format_option is not None:
        metadata = _acceptable([_format_range(format_option)], serves, "$format")
    else:
        accept = found.get(b"accept", "").strip()
        # No Accept, or an empty one, takes anything; one that excludes all is a 406.
        metadata = (
            _acceptable(_media_ranges(accept), serves, "Accept") if accept else MINIMAL_METADATA
        )
    return Negotiated(metadata, _max_page_size(found.get(b"prefer")))


def _check_max_version(text: str | None) -> None:
    if text is None:
        return
    major, _, minor = text.strip().partition(".")
    if not (major.isascii() and major.isdigit() and (minor.isdigit() or not minor)):
        raise ProblemError(
            400, f"Invalid OData-MaxVersion {text!r}: a version such as 4.0.",
            target="OData-MaxVersion",
        )  # fmt: skip
    if int(major) < 4:
        raise ProblemError(
            406, f"This service speaks OData 4.0, above OData-MaxVersion {text.strip()}.",
            target="OData-MaxVersion",
        )  # fmt: skip


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    """The media ranges of an ``Accept`` field, the most preferred first (q=0 dropped)."""
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for position, item in enumerate(accept.split(",")):
        media, params = _media_type(item)
        if not media:
            continue
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 1.0
        if quality > 0:
            ranges.append((-quality, position, media, params))
    return [(media, params) for _, _, media, params in sorted(ranges)]


def _media_type(text: str) -> tuple[str, dict[str, str]]:
    media, *parameters = text.split(";")
    params = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        params[name.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def _format_range(option: str) -> tuple[str, dict[str, str]]:
    media, params = _media_type(option)
    return {"json": JSON, "xml": XML}.get(media, media), params


_ACCEPTS = {JSON: ("*/*", "application/*", JSON), XML: ("*/*", "application/*", XML)}


def _acceptable(ranges: list[tuple[str, dict[str, str]]], serves: str, source: str) -> str:
    """The metadata level of the first range that ``serves`` satisfies; else a 406."""
    for media, params in ranges:
        if media not in _ACCEPTS[serves]:
            continue
        level = params.get("odata.metadata", params.get("metadata", MINIMAL_METADATA))
        if serves == JSON and level not in METADATA_LEVELS:
            continue
        return level if serves == JSON else MINIMAL_METADATA
    asked = ", ".join(
        media + "".join(f";{k}={v}" for k, v in params.items()) for media, params in ranges
    )
    levels = "|".join(METADATA_LEVELS)
    served = f"{JSON} (odata.metadata={levels})" if serves == JSON else XML
    raise ProblemError(
        406, f"This resource is served as {served}; {source} asks for {asked}.", target=source
    )


def _max_page_size(prefer: str | None) -> int | None:
    """The page size ``Prefer: odata.maxpagesize=N`` asks for (at most
    :data:`MAX_PAGE_SIZE`); a preference this service does not know is ignored."""
    if prefer is None:
        return None
    for preference in prefer.split(","):
        name, _, value = preference.partition("=")
        if name.strip().lower() in ("odata.maxpagesize", "maxpagesize"):
            value = value.strip().strip('"')
            if value.isascii() and value.isdigit() and int(value) > 0:
                return min(int(value), MAX_PAGE_SIZE)
    return None


_MAX_DIGITS = 18


def _whole_number(text: str, option: str, *, maximum: int | None = None) -> int:
    limit = f" from 0 to {maximum}" if maximum is not None else " of 0 or more"
    problem = ProblemError(
        400,
        f"Invalid query option {option}: {text!r} is not a whole number{limit}.",
        target=option,
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
        raise ProblemError(
            400, f"Invalid query option {option}: {text!r} is not true or false.", target=option
        )
    return lowered == "true"


def next_link(
    public_url: str,
    path: str,
    query: QueryParameters,
    options: CollectionOptions,
    *,
    returned: int,
    total: int,
) -> str | None:
    """The URL of the next page while rows remain past this one and within ``$top``,
    else None.

    It repeats the request with ``$skip`` moved on and ``$top`` lowered by the rows
    given, keeping every other option.
    """
    following = options.skip + returned
    if returned == 0 or following >= total or (options.top is not None and returned >= options.top):
        return None
    pairs = [(name, value) for name, value in query if name.lower() not in (SKIP, TOP)]
    if options.top is not None:
        pairs.append((TOP, str(options.top - returned)))
    pairs.append((SKIP, str(following)))
    return link(public_url, path, pairs)


def skiptoken_link(
    public_url: str, path: str, query: QueryParameters, *, remaining: int | None, token: str
) -> str:
    """The next page of a keyset-paged feed: the request with ``$skip`` dropped, ``$top``
    lowered to the ``remaining`` rows (when it was given) and ``$skiptoken`` set."""
    pairs = [(name, value) for name, value in query if name.lower() not in (SKIP, TOP, SKIPTOKEN)]
    if remaining is not None:
        pairs.append((TOP, str(remaining)))
    pairs.append((SKIPTOKEN, token))
    return link(public_url, path, pairs)


def link(public_url: str, path: str, query: QueryParameters) -> str:
    """The absolute URL of ``path`` with ``query``, encoded as OData clients write it."""
    query_text = urlencode(query, safe="$", quote_via=quote)
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
        Schema(type=OpenAPIType.INTEGER, minimum=0),
        "How many rows in all (default: every row). Pages hold "
        f"{DEFAULT_PAGE_SIZE} rows, or what `Prefer: odata.maxpagesize` asks (at most "
        f"{MAX_PAGE_SIZE}); `@odata.nextLink` leads to the next page while rows remain.",
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
_VOCABULARIES_URI = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies"
#: Vocabularies a CSDL document may reference: (namespace, alias, where it is).
CAPABILITIES_VOCABULARY = (
    "Org.OData.Capabilities.V1",
    "Capabilities",
    f"{_VOCABULARIES_URI}/Org.OData.Capabilities.V1.xml",
)
CORE_VOCABULARY = ("Org.OData.Core.V1", "Core", f"{_VOCABULARIES_URI}/Org.OData.Core.V1.xml")


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


def _values(values: Mapping[str, bool | str]) -> str:
    """Property values of a record: booleans, or a navigation property path (a str)."""
    return "".join(
        f'<PropertyValue Property="{name}" Bool="{str(value).lower()}"/>'
        if isinstance(value, bool)
        else f'<PropertyValue Property="{name}" NavigationPropertyPath="{value}"/>'
        for name, value in values.items()
    )


def _record(term: str, **values: bool) -> str:
    """A capability annotation: a record of booleans, or one boolean given as ``value``."""
    if list(values) == ["value"]:
        return f'<Annotation Term="Capabilities.{term}" Bool="{str(values["value"]).lower()}"/>'
    return f'<Annotation Term="Capabilities.{term}"><Record>{_values(values)}</Record></Annotation>'


#: What a read-only collection of these services supports, as (term, record) pairs:
#: paging and counting; no filtering, sorting, expanding, selecting or searching; no
#: inserts, updates or deletes.
READ_ONLY_COLLECTION: tuple[tuple[str, dict[str, bool]], ...] = (
    ("TopSupported", {"value": True}),
    ("SkipSupported", {"value": True}),
    ("CountRestrictions", {"Countable": True}),
    ("FilterRestrictions", {"Filterable": False}),
    ("SortRestrictions", {"Sortable": False}),
    ("ExpandRestrictions", {"Expandable": False}),
    ("SelectSupport", {"Supported": False}),
    ("SearchRestrictions", {"Searchable": False}),
    ("InsertRestrictions", {"Insertable": False}),
    ("UpdateRestrictions", {"Updatable": False}),
    ("DeleteRestrictions", {"Deletable": False}),
)


def _restricted_navigation(name: str, capabilities: Iterable[tuple[str, dict[str, bool]]]) -> str:
    """The capabilities of a contained collection (``NavigationRestrictions``), as the
    capability vocabulary's NavigationPropertyRestriction holds them."""
    fields = [f'<PropertyValue Property="NavigationProperty" NavigationPropertyPath="{name}"/>']
    for term, values in capabilities:
        if list(values) == ["value"]:
            fields.append(
                f'<PropertyValue Property="{term}" Bool="{str(values["value"]).lower()}"/>'
            )
        else:
            fields.append(
                f'<PropertyValue Property="{term}">'
                f"<Record>{_values(values)}</Record></PropertyValue>"
            )
    return (
        '<Annotation Term="Capabilities.NavigationRestrictions"><Record>'
        '<PropertyValue Property="RestrictedProperties"><Collection><Record>'
        f"{''.join(fields)}"
        "</Record></Collection></PropertyValue></Record></Annotation>"
    )


def capability_annotations(
    container: str,
    entity_sets: Mapping[str, Iterable[tuple[str, dict[str, bool]]]],
    contained: Mapping[str, tuple[str, Iterable[tuple[str, dict[str, bool]]]]] = {},
) -> list[str]:
    """``Annotations`` blocks (the form annotation converters read) stating what the
    container (no batch requests) and each entity set and contained collection support."""
    lines = [
        f'<Annotations Target="{container}">',
        _record("BatchSupported", value=False),
        _record("AsynchronousRequestsSupported", value=False),
        "</Annotations>",
    ]
    for name, capabilities in entity_sets.items():
        lines += [
            f'<Annotations Target="{container}/{name}">',
            *(_record(term, **values) for term, values in capabilities),
        ]
        if name in contained:
            lines.append(_restricted_navigation(*contained[name]))
        lines.append("</Annotations>")
    return lines


def csdl_document(
    namespace: str,
    body: Iterable[str],
    vocabularies: Iterable[tuple[str, str, str]] = (CAPABILITIES_VOCABULARY,),
) -> bytes:
    """A CSDL XML document of one schema (``body``: its types, container and
    annotations), referencing ``vocabularies``."""
    lines = [
        f'<edmx:Edmx Version="4.0" xmlns:edmx="{_EDMX}">',
        *(
            f'<edmx:Reference Uri="{uri}"><edmx:Include Namespace="{vocabulary}" '
            f'Alias="{alias}"/></edmx:Reference>'
            for vocabulary, alias, uri in vocabularies
        ),
        "<edmx:DataServices>",
        f'<Schema Namespace="{namespace}" xmlns="{_EDM}">',
        *body,
        "</Schema>",
        "</edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    # Parsing our own constant text: indents it for readers and proves it well-formed.
    pretty = parseString("".join(lines))  # noqa: S318
    document: bytes = pretty.toprettyxml(indent="  ", encoding="utf-8")
    return document


def _csdl() -> bytes:
    container = "Container"
    return csdl_document(
        NAMESPACE,
        [
            *_entity_type(JOB_TYPE.rpartition(".")[2], ModernJobRow, keys=JOB_KEYS, types={}),
            *_entity_type(
                CUSTOMER_TYPE.rpartition(".")[2],
                ModernCustomerRow,
                keys=("id",),
                types=CUSTOMER_TYPES,
                extra=[
                    f'<NavigationProperty Name="{JOBS}" Type="Collection({JOB_TYPE})" '
                    'ContainsTarget="true"/>'
                ],
            ),
            f'<EntityContainer Name="{container}">',
            f'<EntitySet Name="{CUSTOMERS}" EntityType="{CUSTOMER_TYPE}"/>',
            "</EntityContainer>",
            *capability_annotations(
                f"{NAMESPACE}.{container}",
                {CUSTOMERS: READ_ONLY_COLLECTION},
                {CUSTOMERS: (JOBS, READ_ONLY_COLLECTION)},
            ),
        ],
    )


#: The CSDL XML document served at ``/partner/$metadata``; the same for every tenant.
CSDL = _csdl()
