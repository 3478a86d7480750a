"""Pages of the history feed's sets: the request's options read (``$select``,
``$orderby``, ``$filter``, custom query options), a page answered with its next link's
signed ``$skiptoken``, for ``Jobs`` (:mod:`.odata_history`, paged in SQL) and for the
report sets whose rows are computed (:mod:`.odata_reports`: here the matching rows are
counted, skipped and cut into a page); and the declaration every set's route shares
(:func:`set_route`).

>>> # return await answer_page(request, context, CUSTOMERS, rows, asked=asked, ...)

Rows come in key order; a ``$skiptoken`` holds what every page of the read shares and the
last row's key, bound to the app, the filter and the parameters (:func:`skiptoken_of`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from litestar import Request, Response, get

from backupjobs.api import odata
from backupjobs.api.context import AppContext
from backupjobs.api.odata_filter import Node, parse_filter, to_predicate
from backupjobs.api.odata_report_sets import FILTER, ReportSet
from backupjobs.api.problems import ODATA_SERVICE_ROOTS, ProblemError, odata_error_responses
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.infra.cursors import InvalidCursorError
from backupjobs.wire.v1 import optional_instant

ROOT = ODATA_SERVICE_ROOTS[1]
SELECT, ORDERBY = "$select", "$orderby"
SKIPTOKEN = odata.SKIPTOKEN
#: The system query options a report set reads.
OPTIONS = (*odata.COLLECTION_OPTIONS, SELECT, ORDERBY, FILTER, SKIPTOKEN)

Row = dict[str, Any]
#: Either jobs read permission, as ``/api/v1/jobs``.
READ = (Permission.V3_JOBS_READ, Permission.MODERN_JOBS_READ)
TAG = "OData history"


def set_route(name: str, *, summary: str, description: str) -> get:
    """The route of the feed's set ``name``: what every set needs, answers and is
    documented with."""
    return get(
        f"/{name}",
        guards=[requires(*READ)],
        media_type=odata.JSON_MEDIA_TYPE,
        security=SECURITY,
        responses=odata_error_responses(400, 401, 403, 406, 412, 429, 501),
        summary=summary,
        description=description,
        tags=[TAG],
    )


def select_properties(
    entity: str, names: Sequence[str], text: str | None
) -> tuple[str, ...] | None:
    """The properties ``$select`` names, of those of ``entity`` (None: every one)."""
    if text is None or text.strip() == "*":
        return None
    chosen = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in chosen if name not in names]
    if unknown or not chosen:
        raise ProblemError(
            400,
            f"Invalid query option $select: {', '.join(map(repr, unknown)) or 'nothing'} is "
            f"not a property of {entity}; properties: {', '.join(names)}.",
            target=SELECT,
        )
    return chosen


def check_order(entity_set: ReportSet, text: str | None) -> None:
    """Only the key order is served (it is the order rows are computed in)."""
    if text is None:
        return
    canonical = [" ".join(part.split()) for part in text.split(",")]
    accepted = [[name, f"{name} asc"] for name in entity_set.key]
    if len(canonical) > len(accepted) or any(
        given not in spellings for given, spellings in zip(canonical, accepted, strict=False)
    ):
        raise ProblemError(
            501,
            f"Ordering by {text!r} is not implemented; {entity_set.name} is in the order of "
            f"its key: {', '.join(f'{name} asc' for name in entity_set.key)}.",
            target=ORDERBY,
        )


def custom_option(query: odata.QueryParameters, name: str) -> str | None:
    """A custom query option's value. The same value twice is once: a client that adds its
    own options to every request (Power Query's ``Query``) may add them to a next link,
    which keeps them already."""
    values = {value for given, value in query if given == name}
    if len(values) > 1:
        raise ProblemError(
            400, f"The query option {name} is given more than once, with different values.",
            target=name,
        )  # fmt: skip
    return values.pop() if values else None


def _render(value: Any) -> Any:
    """A value as the JSON reports write it (times as ``/api/v1``'s, in UTC)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        return optional_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class FeedQuery:
    """What a request asks of a set of the feed: its query, system options and format."""

    query: odata.QueryParameters
    given: Mapping[str, str]
    negotiated: odata.Negotiated

    def paging(self) -> odata.CollectionOptions:
        """``$top``, ``$skip``, ``$count``; pages of the most rows unless ``Prefer:
        odata.maxpagesize`` asks for fewer: a refresh reads the whole set, and fewer,
        larger pages cost it less."""
        return odata.collection_options(
            [
                (name, value)
                for name, value in self.query
                if name.lower() in odata.COLLECTION_OPTIONS
            ],
            max_page_size=self.negotiated.max_page_size or odata.MAX_PAGE_SIZE,
        )


def read_feed_query(request: Request[Any, Any, Any]) -> FeedQuery:
    """The request's options, refused (400, 406, 501) where the feed serves none such."""
    query = odata.query_of(request)
    given = odata.system_options(query, OPTIONS)
    return FeedQuery(
        query, given, odata.negotiate(request.scope["headers"], given.get(odata.FORMAT))
    )


@dataclass(frozen=True)
class ReportQuery(FeedQuery):
    """A report set's :class:`FeedQuery`, with ``$filter`` parsed (``node``) and as a test
    of a computed row (``predicate``)."""

    node: Node | None
    predicate: Callable[[Mapping[str, Any]], bool]


def read_query(request: Request[Any, Any, Any], entity_set: ReportSet) -> ReportQuery:
    """The request's options for ``entity_set``, refused (400, 406, 501) where not served."""
    asked = read_feed_query(request)
    check_order(entity_set, asked.given.get(ORDERBY))
    text = asked.given.get(FILTER)
    node = None if text is None else parse_filter(text)
    predicate = everything if node is None else to_predicate(node, entity_set.filterable)
    return ReportQuery(asked.query, asked.given, asked.negotiated, node, predicate)


def answer_feed(
    request: Request[Any, Any, Any],
    context: AppContext,
    name: str,
    asked: FeedQuery,
    options: odata.CollectionOptions,
    *,
    selected: tuple[str, ...] | None,
    value: list[Any],
    count: int | None,
    following: Sequence[Any] | None,
    bound: bytes,
) -> Response[Any]:
    """A page of the set ``name``: ``value`` (of the ``selected`` properties), with
    ``@odata.count`` if ``count`` is given and, while rows follow within ``$top``, a next
    link whose ``$skiptoken`` is ``following`` signed."""
    public_url = context.settings.public_url
    remaining = None if options.top is None else options.top - len(value)
    next_url = None
    if following is not None and value and (remaining is None or remaining > 0):
        next_url = odata.skiptoken_link(
            public_url, request.scope["path"], asked.query, remaining=remaining,
            token=context.cursors.codec.encode(following, binding=bound),
        )  # fmt: skip
    fragment = name if selected is None else f"{name}({','.join(selected)})"
    body = odata.Feed(
        context=None
        if asked.negotiated.metadata == odata.NO_METADATA
        else f"{public_url}{ROOT}/$metadata#{fragment}",
        count=count,
        next_link=next_url,
        value=value,
    )
    return odata.answer(body, asked.negotiated)


async def answer_page(
    request: Request[Any, Any, Any],
    context: AppContext,
    entity_set: ReportSet,
    rows: Callable[[Any], AsyncIterator[Row]],
    *,
    asked: ReportQuery,
    bound: bytes,
    fixed: tuple[Any, ...],
    after: tuple[Any, ...] | None,
) -> Response[Any]:
    """A page of ``entity_set``: the rows of ``rows(after)`` that match, after ``$skip``,
    within ``$top``, with ``$count`` and a next link whose ``$skiptoken`` holds ``fixed``
    (what every page of the read shares) and the last row's key."""
    options = asked.paging()
    selected = select_properties(entity_set.entity, entity_set.names, asked.given.get(SELECT))
    to_skip = options.skip if after is None else 0
    page: list[Row] = []
    more = False
    total = 0  # $count: every matching row, whatever $skip, $top and the page
    async for row in rows(None if options.count else after):
        if not asked.predicate(row):
            continue
        total += 1
        if after is not None and tuple(row[name] for name in entity_set.key) <= after:
            continue
        if to_skip:
            to_skip -= 1
        elif len(page) < options.page_size:
            page.append(row)
        else:
            more = True
            if not options.count:
                break
    names = selected or entity_set.names
    full = asked.negotiated.metadata == odata.FULL_METADATA
    return answer_feed(
        request,
        context,
        entity_set.name,
        asked,
        options,
        selected=selected,
        value=[
            {
                **({"@odata.type": f"#{entity_set.qualified}"} if full else {}),
                **{name: _render(row[name]) for name in names},
            }
            for row in page
        ],
        count=total if options.count else None,
        following=[*fixed, *(page[-1][name] for name in entity_set.key)] if more and page else None,
        bound=bound,
    )


def everything(row: Mapping[str, Any]) -> bool:
    return True


def skiptoken_of(
    context: AppContext,
    token: str,
    bound: bytes,
    kind: type[Any],
    *,
    bound_to: str = "$filter and custom query options",
) -> Any:
    """The position a ``$skiptoken`` holds, if it is one of ours for this read (the same
    ``bound_to`` options); a 400 otherwise."""
    try:
        return context.cursors.codec.decode(token, binding=bound, type=kind)
    except InvalidCursorError as error:
        raise ProblemError(
            400,
            f"Invalid query option $skiptoken: {error}. A skiptoken is valid only in the "
            f"next link that gave it, with the same {bound_to}.",
            target=SKIPTOKEN,
        ) from None
