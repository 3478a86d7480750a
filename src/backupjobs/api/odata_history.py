"""The history feed: an OData v4 service at ``/api/v1/odata`` for Power BI's reports.

Its entity set ``Jobs`` is the history of :mod:`backupjobs.store.history` (every job of
the visible customers; each row the job record of SPEC section 10), read a page at a time
by keyset, never loaded whole. It takes what Power BI's query folding and incremental
refresh send: ``$filter`` (:mod:`.odata_filter`), ``$select``, ``$orderby`` on the
history's index (``startTime``, then ``jobId``), ``$top``, ``$skip``, ``$count``, and
server-driven paging whose next link carries a ``$skiptoken``: the position of the last
row, signed and bound to the app, the filter and the order like the ``/api/v1`` cursors.
The protocol parts (errors, negotiation, paging options) are the Modern service's
(:mod:`.odata`). Permission: either jobs read permission, as ``/api/v1/jobs``.

Beside it, the report sets of :mod:`.odata_reports`: ``Customers`` (each customer's
health) and ``DailyOutcomes`` (per customer and day). A job's ``customerId`` is the key of
its customer in ``Customers`` and of its days in ``DailyOutcomes``: Power BI relates the
tables by that column (no navigation property: following one needs ``$expand``, which
this service does not implement).
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import attrgetter
from typing import Any
from xml.sax.saxutils import escape

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import func, select

from backupjobs.api import odata, odata_report_sets, odata_reports
from backupjobs.api.context import AppContext
from backupjobs.api.odata_filter import (
    DATETIME,
    GUID,
    INT,
    STRING,
    FilterProperty,
    catalog_name,
    parse_filter,
    to_sql,
)
from backupjobs.api.odata_report_pages import (
    ORDERBY,
    SELECT,
    SKIPTOKEN,
    TAG,
    answer_feed,
    read_feed_query,
    select_properties,
    set_route,
    skiptoken_of,
)
from backupjobs.api.odata_report_sets import FILTER
from backupjobs.api.problems import ODATA_SERVICE_ROOTS, ProblemError, odata_error_responses
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES
from backupjobs.infra.cursors import binding
from backupjobs.store.history import JobFilters, history_statement
from backupjobs.store.keyset import SortKey, read_page
from backupjobs.store.schema import JOB_SORT_TIME, customers, jobs
from backupjobs.wire.v1 import V1Job, v1_job

#: The service root; its routes are under a router there (``app.py``).
ROOT = ODATA_SERVICE_ROOTS[1]
NAMESPACE = odata_report_sets.NAMESPACE
JOB_ENTITY = f"{NAMESPACE}.Job"
JOBS_SET = "Jobs"

#: The job record's properties and their EDM types (Edm.String unless named here).
_TYPES: dict[str, str] = {
    "customerId": "Edm.Guid",
    "jobType": "Edm.Int32",
    "jobModule": "Edm.Int32",
    "status": "Edm.Int32",
    "totalCount": "Edm.Int64",
    "failedCount": "Edm.Int64",
    "successfulCount": "Edm.Int64",
    "skippedCount": "Edm.Int64",
    "warningCount": "Edm.Int64",
    "backupSizeBytes": "Edm.Int64",
    "startTime": "Edm.DateTimeOffset",
    "endTime": "Edm.DateTimeOffset",
    "durationSeconds": "Edm.Int64",
    "lastModifyTime": "Edm.DateTimeOffset",
}
_NULLABLE = frozenset(
    {"name", "totalCount", "failedCount", "successfulCount", "skippedCount", "warningCount",
     "backupSizeBytes", "startTime", "endTime", "durationSeconds"}
)  # fmt: skip
PROPERTIES: tuple[str, ...] = V1Job.__struct_fields__


#: A catalog name as the history's columns hold it: its code.
_CODE = attrgetter("code")
#: What ``$filter`` may compare: the record's properties as columns of the history.
FILTERABLE: dict[str, FilterProperty] = {
    # startTime: the sort time of a started job, so that the history's index serves the
    # incremental refresh window.
    "startTime": FilterProperty(
        JOB_SORT_TIME,
        DATETIME,
        nullable=True,
        guard=jobs.c.start_time.is_not(None),
        null_column=jobs.c.start_time,
    ),
    "endTime": FilterProperty(jobs.c.end_time, DATETIME, nullable=True),
    "lastModifyTime": FilterProperty(jobs.c.last_modify_time, DATETIME),
    "customerId": FilterProperty(jobs.c.customer_id, GUID),
    "customerName": FilterProperty(customers.c.name, STRING),
    "jobId": FilterProperty(jobs.c.job_id, STRING),
    "name": FilterProperty(jobs.c.name, STRING, nullable=True),
    "jobType": FilterProperty(jobs.c.job_type, INT),
    "jobModule": FilterProperty(jobs.c.job_module, INT),
    "status": FilterProperty(jobs.c.status, INT),
    "jobTypeName": FilterProperty(jobs.c.job_type, STRING, convert=catalog_name(JOB_TYPES, _CODE)),
    "jobModuleName": FilterProperty(
        jobs.c.job_module, STRING, convert=catalog_name(JOB_MODULES, _CODE)
    ),
    "statusName": FilterProperty(jobs.c.status, STRING, convert=catalog_name(STATUSES, _CODE)),
    "totalCount": FilterProperty(jobs.c.total_count, INT, nullable=True),
    "failedCount": FilterProperty(jobs.c.failed_count, INT, nullable=True),
    "backupSizeBytes": FilterProperty(jobs.c.backup_size_bytes, INT, nullable=True),
}

_SORT_TIME = "sort_time"
#: The orders the history's index serves, by their ``$orderby`` text.
ORDERS: dict[str, tuple[SortKey, ...]] = {
    "startTime desc": (
        SortKey(JOB_SORT_TIME, _SORT_TIME, descending=True),
        SortKey(jobs.c.job_id, "job_id", descending=True),
    ),
    "startTime asc": (
        SortKey(JOB_SORT_TIME, _SORT_TIME),
        SortKey(jobs.c.job_id, "job_id"),
    ),
}
_ORDER_SPELLINGS = {
    "startTime": "startTime asc",
    "startTime,jobId": "startTime asc",
    "startTime asc,jobId asc": "startTime asc",
    "startTime desc,jobId desc": "startTime desc",
}


def _order(text: str | None) -> str:
    if text is None:
        return "startTime desc"
    canonical = ",".join(" ".join(part.split()) for part in text.split(","))
    canonical = _ORDER_SPELLINGS.get(canonical, canonical)
    if canonical not in ORDERS:
        raise ProblemError(
            501,
            f"Ordering by {text!r} is not implemented; supported: startTime desc (the "
            "default) or startTime asc, jobId breaking ties the same way (the history's "
            "index).",
            target=ORDERBY,
        )
    return canonical


def _row(
    row: Any, selected: tuple[str, ...] | None, metadata: str, now: datetime
) -> dict[str, Any]:
    record = msgspec.structs.asdict(v1_job(row._mapping, now=now))
    values = record if selected is None else {name: record[name] for name in selected}
    if metadata == odata.FULL_METADATA:
        return {"@odata.type": f"#{JOB_ENTITY}", **values}
    return values


@set_route(
    JOBS_SET,
    summary="The job history as an OData feed (Power BI)",
    description=(
        "Every job run of the visible customers, each the job record of `/api/v1/jobs`, "
        "newest first. `$filter` (eq ne gt ge lt le, and, or, parentheses), `$select`, "
        "`$orderby=startTime asc|desc`, `$top`, `$skip`, `$count`; pages of 1000 rows (or "
        "`Prefer: odata.maxpagesize`) with `@odata.nextLink` (a signed `$skiptoken`)."
    ),
)
async def history_jobs(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = read_feed_query(request)
    given = asked.given
    options = asked.paging()
    order_text = _order(given.get(ORDERBY))
    selected = select_properties("Job", PROPERTIES, given.get(SELECT))
    filter_text = given.get(FILTER)
    condition = to_sql(parse_filter(filter_text), FILTERABLE) if filter_text is not None else None
    scope = principal.tenant_scope
    bound = binding(
        "odata-jobs", {"app": principal.client_id, "filter": filter_text, "order": order_text}
    )
    token = given.get(SKIPTOKEN)
    position = None
    if token is not None:
        found = skiptoken_of(
            context, token, bound, tuple[datetime, str], bound_to="$filter and $orderby"
        )
        position = list(found)
    statement = history_statement(scope, JobFilters())
    if condition is not None:
        statement = statement.where(condition)
    total = None
    async with context.db.read() as connection:
        if options.count:
            counted = select(func.count()).select_from(statement.subquery())
            total = (await connection.execute(counted)).scalar_one()
        paged = statement.offset(options.offset) if position is None and options.skip else statement
        rows, following = await read_page(
            connection, paged, ORDERS[order_text], position, limit=options.page_size
        )
    now = datetime.now(UTC)
    return answer_feed(
        request,
        context,
        JOBS_SET,
        asked,
        options,
        selected=selected,
        value=[_row(row, selected, asked.negotiated.metadata, now) for row in rows],
        count=total,
        following=following,
        bound=bound,
    )


# --- the service document and $metadata --------------------------------------------------


def _description(target: str, text: str) -> list[str]:
    return [
        f'<Annotations Target="{target}">',
        f'<Annotation Term="Core.Description" String="{escape(text, {chr(34): "&quot;"})}"/>',
        "</Annotations>",
    ]


def _csdl() -> bytes:
    container = "Container"
    capabilities: tuple[tuple[str, dict[str, bool]], ...] = (
        ("TopSupported", {"value": True}),
        ("SkipSupported", {"value": True}),
        ("CountRestrictions", {"Countable": True}),
        ("FilterRestrictions", {"Filterable": True}),
        ("SortRestrictions", {"Sortable": True}),
        ("SelectSupport", {"Supported": True}),
        ("ExpandRestrictions", {"Expandable": False}),
        ("SearchRestrictions", {"Searchable": False}),
        ("InsertRestrictions", {"Insertable": False}),
        ("UpdateRestrictions", {"Updatable": False}),
        ("DeleteRestrictions", {"Deletable": False}),
    )
    # The report sets are in their key order only.
    report_capabilities = tuple(
        (term, {"Sortable": False} if term == "SortRestrictions" else values)
        for term, values in capabilities
    )
    properties = [
        f'<Property Name="{name}" Type="{_TYPES.get(name, "Edm.String")}" '
        f'Nullable="{str(name in _NULLABLE).lower()}"/>'
        for name in PROPERTIES
    ]
    qualified = f"{NAMESPACE}.{container}"
    reports = odata_report_sets.REPORT_SETS
    return odata.csdl_document(
        NAMESPACE,
        [
            '<EntityType Name="Job">',
            '<Key><PropertyRef Name="jobId"/></Key>',
            *properties,
            "</EntityType>",
            *(line for entity_set in reports for line in entity_set.csdl()),
            f'<EntityContainer Name="{container}">',
            f'<EntitySet Name="{JOBS_SET}" EntityType="{JOB_ENTITY}"/>',
            *(
                f'<EntitySet Name="{entity_set.name}" EntityType="{entity_set.qualified}"/>'
                for entity_set in reports
            ),
            "</EntityContainer>",
            *odata.capability_annotations(
                qualified,
                {
                    JOBS_SET: capabilities,
                    **{entity_set.name: report_capabilities for entity_set in reports},
                },
            ),
            *(
                line
                for entity_set in reports
                for line in _description(f"{qualified}/{entity_set.name}", entity_set.description)
            ),
            *_description(
                f"{odata_report_sets.DAILY_OUTCOMES.qualified}/date",
                "The calendar day in the time zone of the custom query option tz (an IANA "
                "name); UTC when the request has none.",
            ),
        ],
        # The core vocabulary too: the sets' descriptions (which time zone
        # ``DailyOutcomes``' days are in).
        (odata.CAPABILITIES_VOCABULARY, odata.CORE_VOCABULARY),
    )


#: The CSDL XML document served at ``/api/v1/odata/$metadata``.
CSDL = _csdl()


@get(
    "/$metadata",
    media_type=odata.XML_MEDIA_TYPE,
    responses=odata_error_responses(400, 406, 412, 501),
    summary="OData CSDL document of the history feed",
    description=(
        "The entity types `Job`, `Customer` and `DailyOutcome` of `Backupjobs.History` and "
        "the entity sets `Jobs`, `Customers` and `DailyOutcomes`. No token."
    ),
    tags=[TAG],
)
async def history_metadata(request: Request[Any, Any, Any]) -> Response[bytes]:
    return odata.metadata_answer(request, CSDL)


@get(
    "/",
    media_type=odata.JSON_MEDIA_TYPE,
    responses=odata_error_responses(400, 406, 412, 501),
    summary="OData service document of the history feed",
    description="The entity sets at this service root. Needs no token.",
    tags=[TAG],
)
async def history_root(
    request: Request[Any, Any, Any], context: NamedDependency[AppContext]
) -> Response[Any]:
    negotiated = odata.entity_request(request)
    document = odata.service_document(
        f"{context.settings.public_url}{ROOT}/$metadata",
        [JOBS_SET, *(entity_set.name for entity_set in odata_report_sets.REPORT_SETS)],
    )
    return odata.answer(document, negotiated)


ROUTES = [history_root, history_metadata, history_jobs, *odata_reports.ROUTES]
