"""The history feed's report sets: ``Customers`` (each with its health) and ``DailyOutcomes``.

>>> # GET /api/v1/odata/Customers?$filter=jobStatus eq 2&$select=customerId,customerName
>>> # GET /api/v1/odata/DailyOutcomes?tz=Europe/Berlin
>>> #     &$filter=date ge 2026-11-01 and date lt 2026-12-01

Their rows are what the reports answer, read through the reports' store functions
(:func:`backupjobs.store.summary.summarize` for a customer's jobStatus, services, failing
and stale ones, latest jobs' bytes and last success, as ``/api/v1/summary`` gives them;
:func:`backupjobs.store.summary.daily` for a customer's jobs by status, bytes and seconds
on each calendar day, as ``/api/v1/daily``), so that a report built on the feed and the
JSON reports agree. They are computed rather than stored, so ``$filter``
(:func:`.odata_filter.to_predicate`) tests the rows as they are read; ``DailyOutcomes``
reads only the days and the customer that the filter's ``and`` terms bound
(:func:`.odata_filter.bounds`), as incremental refresh asks.

Both are in key order (``customerId``; ``customerId`` then ``date``) and page by a signed
``$skiptoken`` holding the last row's key and the moment (``Customers``: health is judged
at the first page's time) or days (``DailyOutcomes``: the window of the first page) of the
whole read, bound to the app, the filter and the parameters. Days are calendar days in the
custom query option ``tz`` (an IANA name; UTC when absent), which ``$metadata`` states.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.di import NamedDependency

from backupjobs.api import odata, reportparams
from backupjobs.api.context import AppContext
from backupjobs.api.odata_filter import (
    DATE,
    DATETIME,
    GUID,
    INT,
    STRING,
    Node,
    ValueProperty,
    bounds,
    parse_filter,
    to_predicate,
)
from backupjobs.api.problems import ODATA_SERVICE_ROOTS, ProblemError, odata_error_responses
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import CUSTOMER_JOB_STATUSES, STATUSES, CodeTable, UnknownCodeError
from backupjobs.infra.cursors import InvalidCursorError, binding
from backupjobs.store.summary import DayFilters, daily, summarize
from backupjobs.wire.v1 import optional_instant

ROOT = ODATA_SERVICE_ROOTS[1]
NAMESPACE = "Backupjobs.History"
READ = (Permission.V3_JOBS_READ, Permission.MODERN_JOBS_READ)
SELECT, ORDERBY, FILTER, SKIPTOKEN = "$select", "$orderby", "$filter", "$skiptoken"
OPTIONS = (*odata.COLLECTION_OPTIONS, SELECT, ORDERBY, FILTER, SKIPTOKEN)
#: The custom query options: the days' time zone, the stale threshold.
TZ, STALE_AFTER = "tz", "staleAfter"
#: Rows read from the store at a time while filtering, counting or skipping.
_BATCH = odata.MAX_PAGE_SIZE

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    edm: str
    nullable: bool = False
    #: How ``$filter`` reads it (None: not filterable).
    filter: ValueProperty | None = None


@dataclass(frozen=True, slots=True)
class ReportSet:
    """An entity set of the feed whose rows are computed: its names, properties and key."""

    name: str
    entity: str
    properties: tuple[Property, ...]
    key: tuple[str, ...]
    description: str

    @property
    def qualified(self) -> str:
        return f"{NAMESPACE}.{self.entity}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties)

    @property
    def filterable(self) -> dict[str, ValueProperty]:
        return {p.name: p.filter for p in self.properties if p.filter is not None}

    def csdl(self) -> list[str]:
        """The entity type, as ``$metadata`` declares it."""
        return [
            f'<EntityType Name="{self.entity}">',
            "<Key>",
            *(f'<PropertyRef Name="{name}"/>' for name in self.key),
            "</Key>",
            *(
                f'<Property Name="{p.name}" Type="{p.edm}" Nullable="{str(p.nullable).lower()}"/>'
                for p in self.properties
            ),
            "</EntityType>",
        ]


def _display_of(table: CodeTable) -> Any:
    """A name of a code as the rows hold it: the catalog's display name (any spelling the
    catalog knows, any case)."""

    def convert(name: str) -> str:
        try:
            return table.parse(name).display
        except UnknownCodeError as error:
            raise ProblemError(
                400, f"Invalid query option $filter: {error}.", target=FILTER
            ) from None

    return convert


def _counts(name: str, edm: str = "Edm.Int64", nullable: bool = False) -> Property:
    return Property(name, edm, nullable, ValueProperty(INT, nullable=nullable))


CUSTOMERS = ReportSet(
    "Customers",
    "Customer",
    (
        Property("customerId", "Edm.Guid", filter=ValueProperty(GUID)),
        Property("customerName", "Edm.String", filter=ValueProperty(STRING)),
        Property("jobStatus", "Edm.Int32", filter=ValueProperty(INT)),
        Property(
            "jobStatusName",
            "Edm.String",
            filter=ValueProperty(STRING, convert=_display_of(CUSTOMER_JOB_STATUSES)),
        ),
        _counts("services", "Edm.Int32"),
        _counts("failingServices", "Edm.Int32"),
        _counts("staleServices", "Edm.Int32"),
        _counts("backupSizeBytes"),
        Property(
            "lastSuccessTime", "Edm.DateTimeOffset", True, ValueProperty(DATETIME, nullable=True)
        ),
    ),
    ("customerId",),
    "Each visible customer with its health now, as /api/v1/summary gives it: jobStatus "
    "(as in the Modern API's customers) and its name, its services in use, the failing "
    "and the stale ones (stale after the custom query option staleAfter, an ISO 8601 "
    "duration, default the server's), the sum of their latest jobs' bytes and the last "
    "successful job's time.",
)


def _status_property(display: str) -> str:
    return "jobs" + "".join(word.capitalize() for word in display.split())


#: ``DailyOutcomes``' job counts by status: a property per catalog status.
STATUS_PROPERTIES: dict[int, str] = {s.code: _status_property(s.display) for s in STATUSES}

DAILY_OUTCOMES = ReportSet(
    "DailyOutcomes",
    "DailyOutcome",
    (
        Property("customerId", "Edm.Guid", filter=ValueProperty(GUID)),
        Property("date", "Edm.Date", filter=ValueProperty(DATE)),
        _counts("jobs"),
        _counts("backupSizeBytes"),
        _counts("durationSeconds"),
        *(_counts(name) for name in STATUS_PROPERTIES.values()),
    ),
    ("customerId", "date"),
    "One entry per visible customer and calendar day, as /api/v1/daily gives it: the jobs "
    "started that day, by status (jobsFinished, jobsFailed, ...), their bytes and seconds. "
    "Days are calendar days in the time zone of the custom query option tz (an IANA name "
    "such as Europe/Berlin); without it, in UTC. The days read are those that $filter "
    "bounds with and (date ge 2026-11-01 and date lt 2026-12-01); without a bound, the "
    "last 7 days up to today.",
)

REPORT_SETS = (CUSTOMERS, DAILY_OUTCOMES)


# --- the rows ----------------------------------------------------------------------------


async def _customers(
    context: AppContext,
    principal: Principal,
    now: datetime,
    stale_after: timedelta,
    customer_ids: frozenset[UUID] | None,
) -> AsyncIterator[Row]:
    """Every visible customer's row (of ``customer_ids``, if not None), by customerId."""
    if customer_ids is not None and not customer_ids:
        return  # customerId terms that contradict each other
    async with context.db.read() as connection:
        found = await summarize(
            connection,
            principal.tenant_scope,
            customer_ids=sorted(customer_ids or ()),
            start=now,
            end=now,
            now=now,
            stale_after=stale_after,
        )
    for entry in sorted(found.customers, key=lambda c: c.customer_id):
        yield {
            "customerId": entry.customer_id,
            "customerName": entry.name,
            "jobStatus": int(entry.job_status),
            "jobStatusName": CUSTOMER_JOB_STATUSES.require(int(entry.job_status)).display,
            "services": entry.services,
            "failingServices": entry.failing_services,
            "staleServices": entry.stale_services,
            "backupSizeBytes": entry.backup_size_bytes,
            "lastSuccessTime": entry.last_success_time,
        }


async def _days(
    context: AppContext,
    principal: Principal,
    filters: DayFilters,
    days: list[date],
    zone: ZoneInfo,
    after: tuple[UUID, date] | None,
) -> AsyncIterator[Row]:
    """Every visible customer's row of each of ``days``, by customerId then date, after
    ``after``; read a batch at a time."""
    position: list[Any] | None = list(after) if after else None
    while True:
        async with context.db.read() as connection:
            entries, position = await daily(
                connection,
                principal.tenant_scope,
                filters,
                days=days,
                zone=zone,
                position=position,
                limit=_BATCH,
            )
        for entry in entries:
            by_status = entry.figures.by_status
            yield {
                "customerId": entry.customer_id,
                "date": entry.day,
                "jobs": entry.figures.jobs,
                "backupSizeBytes": entry.figures.backup_size_bytes,
                "durationSeconds": entry.figures.duration_seconds,
                **{name: by_status.get(code, 0) for code, name in STATUS_PROPERTIES.items()},
            }
        if position is None:
            return


def _window(node: Node | None, zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The first and last day read: those the filter bounds, else the last 7 days up to
    today in ``zone`` (as ``/api/v1/daily``)."""
    low, high = (
        (None, None) if node is None else bounds(node, "date", DAILY_OUTCOMES.filterable)[:2]
    )
    past_last: date = high or now.astimezone(zone).date() + timedelta(days=1)
    first: date = low or past_last - reportparams.DEFAULT_WINDOW
    if (past_last - first).days > reportparams.MAX_DAYS:
        raise ProblemError(
            400,
            f"Invalid query option $filter: it spans more than {reportparams.MAX_DAYS} days of "
            "date; bound date with ge and lt (date ge 2026-01-01 and date lt 2026-02-01).",
            target=FILTER,
        )
    return first, past_last - timedelta(days=1)


# --- the request -------------------------------------------------------------------------


def _select(entity_set: ReportSet, text: str | None) -> tuple[str, ...] | None:
    if text is None or text.strip() == "*":
        return None
    chosen = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in chosen if name not in entity_set.names]
    if unknown or not chosen:
        raise ProblemError(
            400,
            f"Invalid query option $select: {', '.join(map(repr, unknown)) or 'nothing'} is "
            f"not a property of {entity_set.entity}; properties: {', '.join(entity_set.names)}.",
            target=SELECT,
        )
    return chosen


def _check_order(entity_set: ReportSet, text: str | None) -> None:
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


def _custom(query: odata.QueryParameters, name: str) -> str | None:
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


async def _answer(
    request: Request[Any, Any, Any],
    context: AppContext,
    entity_set: ReportSet,
    rows: Callable[[Any], AsyncIterator[Row]],
    *,
    given: Mapping[str, str],
    query: odata.QueryParameters,
    negotiated: odata.Negotiated,
    bound: bytes,
    fixed: tuple[Any, ...],
    after: tuple[Any, ...] | None,
    predicate: Callable[[Mapping[str, Any]], bool],
) -> Response[Any]:
    """A page of ``entity_set``: the rows of ``rows(after)`` that match, after ``$skip``,
    within ``$top``, with ``$count`` and a next link whose ``$skiptoken`` holds ``fixed``
    (what every page of the read shares) and the last row's key."""
    options = odata.collection_options(
        [(name, value) for name, value in query if name.lower() in odata.COLLECTION_OPTIONS],
        max_page_size=negotiated.max_page_size or odata.MAX_PAGE_SIZE,
    )
    selected = _select(entity_set, given.get(SELECT))
    to_skip = options.skip if after is None else 0
    page: list[Row] = []
    more = False
    total = 0  # $count: every matching row, whatever $skip, $top and the page
    async for row in rows(None if options.count else after):
        if not predicate(row):
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
    remaining = None if options.top is None else options.top - len(page)
    next_url = None
    if more and page and (remaining is None or remaining > 0):
        last = page[-1]
        token = context.cursors.codec.encode(
            [*fixed, *(last[name] for name in entity_set.key)], binding=bound
        )
        pairs = [
            (name, value)
            for name, value in query
            if name.lower() not in (odata.SKIP, odata.TOP, SKIPTOKEN)
        ]
        if remaining is not None:
            pairs.append((odata.TOP, str(remaining)))
        pairs.append((SKIPTOKEN, token))
        next_url = odata.link(context.settings.public_url, request.scope["path"], pairs)
    names = selected or entity_set.names
    full = negotiated.metadata == odata.FULL_METADATA
    fragment = entity_set.name if selected is None else f"{entity_set.name}({','.join(selected)})"
    body = odata.Feed(
        context=None
        if negotiated.metadata == odata.NO_METADATA
        else f"{context.settings.public_url}{ROOT}/$metadata#{fragment}",
        count=total if options.count else None,
        next_link=next_url,
        value=[
            {
                **({"@odata.type": f"#{entity_set.qualified}"} if full else {}),
                **{name: _render(row[name]) for name in names},
            }
            for row in page
        ],
    )
    return odata.answer(body, negotiated)


def _filter(given: Mapping[str, str]) -> Node | None:
    text = given.get(FILTER)
    return None if text is None else parse_filter(text)


def _everything(row: Mapping[str, Any]) -> bool:
    return True


def _skiptoken(context: AppContext, token: str, bound: bytes, kind: type[Any]) -> Any:
    try:
        return context.cursors.codec.decode(token, binding=bound, type=kind)
    except InvalidCursorError as error:
        raise ProblemError(
            400,
            f"Invalid query option $skiptoken: {error}. A skiptoken is valid only in the "
            "next link that gave it, with the same $filter and custom query options.",
            target=SKIPTOKEN,
        ) from None


_ERRORS = odata_error_responses(400, 401, 403, 406, 412, 429, 501)
_OPTIONS_TEXT = (
    "`$filter` (eq ne gt ge lt le, and, or, parentheses), `$select`, `$top`, `$skip`, "
    "`$count`; pages of 1000 rows (or `Prefer: odata.maxpagesize`) with `@odata.nextLink` "
    "(a signed `$skiptoken`)."
)


@get(
    f"/{CUSTOMERS.name}",
    guards=[requires(*READ)],
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=_ERRORS,
    summary="The customers and their health as an OData feed (Power BI)",
    description=f"{CUSTOMERS.description} By customerId. {_OPTIONS_TEXT}",
    tags=["OData history"],
)
async def history_customers(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    query = odata.query_of(request)
    given = odata.system_options(query, OPTIONS)
    negotiated = odata.negotiate(request.scope["headers"], given.get(odata.FORMAT))
    _check_order(CUSTOMERS, given.get(ORDERBY))
    node = _filter(given)
    predicate = _everything if node is None else to_predicate(node, CUSTOMERS.filterable)
    stale_after = reportparams.stale_after(
        _custom(query, STALE_AFTER), context.settings.stale_after
    )
    bound = binding(
        "odata-customers",
        {"app": principal.client_id, "filter": given.get(FILTER), "staleAfter": str(stale_after)},
    )
    token = given.get(SKIPTOKEN)
    after: tuple[Any, ...] | None = None
    if token is None:
        now = datetime.now(UTC)
    else:
        now, customer_id = _skiptoken(context, token, bound, tuple[datetime, UUID])
        after = (customer_id,)

    customer_ids = None if node is None else bounds(node, "customerId", CUSTOMERS.filterable)[2]

    def rows(_after: Any) -> AsyncIterator[Row]:
        return _customers(context, principal, now, stale_after, customer_ids)

    return await _answer(
        request, context, CUSTOMERS, rows, given=given, query=query, negotiated=negotiated,
        bound=bound, fixed=(now,), after=after, predicate=predicate,
    )  # fmt: skip


@get(
    f"/{DAILY_OUTCOMES.name}",
    guards=[requires(*READ)],
    media_type=odata.JSON_MEDIA_TYPE,
    security=SECURITY,
    responses=_ERRORS,
    summary="Outcomes per customer and calendar day as an OData feed (Power BI)",
    description=f"{DAILY_OUTCOMES.description} By customerId, then date. {_OPTIONS_TEXT}",
    tags=["OData history"],
)
async def history_daily_outcomes(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    query = odata.query_of(request)
    given = odata.system_options(query, OPTIONS)
    negotiated = odata.negotiate(request.scope["headers"], given.get(odata.FORMAT))
    _check_order(DAILY_OUTCOMES, given.get(ORDERBY))
    zone = reportparams.zone(_custom(query, TZ))
    node = _filter(given)
    predicate = _everything if node is None else to_predicate(node, DAILY_OUTCOMES.filterable)
    customer_ids = (
        None if node is None else bounds(node, "customerId", DAILY_OUTCOMES.filterable)[2]
    )
    bound = binding(
        "odata-daily", {"app": principal.client_id, "filter": given.get(FILTER), "tz": zone.key}
    )
    token = given.get(SKIPTOKEN)
    after: tuple[Any, ...] | None = None
    if token is None:
        first, last = _window(node, zone, datetime.now(UTC))
    else:
        first, last, customer_id, day = _skiptoken(
            context, token, bound, tuple[date, date, UUID, date]
        )
        after = (customer_id, day)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    filters = DayFilters(customer_ids=tuple(sorted(customer_ids or ())))

    async def rows(start: Any) -> AsyncIterator[Row]:
        if not days or (customer_ids is not None and not customer_ids):
            return  # no day, or customerId terms that contradict each other
        async for row in _days(context, principal, filters, days, zone, start):
            yield row

    return await _answer(
        request, context, DAILY_OUTCOMES, rows, given=given, query=query,
        negotiated=negotiated, bound=bound, fixed=(first, last), after=after,
        predicate=predicate,
    )  # fmt: skip


ROUTES = [history_customers, history_daily_outcomes]
