"""The history (SPEC §10.1) and its export (§10.4): ``GET /api/v1/jobs[/export]``.

Both read :func:`backupjobs.store.history.history_statement` with the same filters and
order: the list a page at a time by keyset, the export whole, streamed from one
statement (one snapshot) as the client reads it, in constant memory. A client that goes
away mid-export cancels the stream, which closes the statement and gives the connection
back at once.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream

from backupjobs.api import reportparams
from backupjobs.api.context import AppContext
from backupjobs.api.listing import Cursor, ItemPage, Limit
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES
from backupjobs.infra.cursors import binding
from backupjobs.store.history import JobFilters, history_page, stream_history
from backupjobs.store.scope import TenantScope
from backupjobs.wire.v1 import V1_JOB_FIELDS, V1Job, v1_job

READ = (Permission.V3_JOBS_READ, Permission.MODERN_JOBS_READ)
_NAME_LIMIT = 200
CSV = "text/csv"
NDJSON = "application/x-ndjson"
#: Cells a spreadsheet would run as a formula start with one of these (OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Bytes gathered before a chunk of the export is sent.
_CHUNK = 64 * 1024

_CUSTOMER_ID = QueryParameter(
    name="customerId", description="Only these customers (repeatable).", required=False
)
CustomerIds = Annotated[list[str] | None, _CUSTOMER_ID]
JobTypes = Annotated[
    list[str] | None,
    QueryParameter(
        name="jobType", description="Job type codes or names (repeatable).", required=False
    ),
]
JobModules = Annotated[
    list[str] | None,
    QueryParameter(
        name="jobModule", description="Job module codes or names (repeatable).", required=False
    ),
]
Statuses = Annotated[
    list[str] | None,
    QueryParameter(
        name="status",
        description="Status codes or names, e.g. `3` or `Failed` (repeatable).",
        required=False,
    ),
]
StartedFrom = Annotated[
    str | None,
    QueryParameter(
        name="startedFrom",
        description="Jobs whose sort time (start, or last change if not started) is at or "
        "after this RFC 3339 time or date (midnight UTC).",
        required=False,
    ),
]
StartedTo = Annotated[
    str | None,
    QueryParameter(
        name="startedTo",
        description="Jobs whose sort time is before this RFC 3339 time or date.",
        required=False,
    ),
]
NameContains = Annotated[
    str | None,
    QueryParameter(
        name="q",
        description="A substring of the job's name, in any case.",
        max_length=_NAME_LIMIT,
        required=False,
    ),
]

_JOB_EXAMPLE = {
    "jobId": "FB20250911032116214502",
    "customerId": "00427fbc-8832-46cf-a1d2-582fa46ec638",
    "customerName": "Northwind Traders",
    "jobType": 7,
    "jobTypeName": "Microsoft 365",
    "jobModule": 304,
    "jobModuleName": "Microsoft 365 Groups",
    "status": 3,
    "statusName": "Failed",
    "name": "Nightly groups",
    "totalCount": 2323,
    "failedCount": 12,
    "successfulCount": 2311,
    "skippedCount": 0,
    "warningCount": 0,
    "backupSizeBytes": 1073741824,
    "startTime": "2025-09-11T03:21:16.800Z",
    "endTime": "2025-09-11T03:38:56.200Z",
    "durationSeconds": 1059,
    "lastModifyTime": "2025-09-11T03:38:57.000Z",
}


async def _filters(
    context: AppContext,
    scope: TenantScope,
    *,
    customerId: list[str] | None,
    jobType: list[str] | None,
    jobModule: list[str] | None,
    status: list[str] | None,
    startedFrom: str | None,
    startedTo: str | None,
    q: str | None,
) -> JobFilters:
    """The history's filters from the query, or a 400 naming the parameter and value; a
    customer the app may not see, a 404."""
    utc = reportparams.zone(None)
    start = reportparams.instant("startedFrom", startedFrom, utc)
    end = reportparams.instant("startedTo", startedTo, utc)
    if start is not None and end is not None and start >= end:
        raise ProblemError(
            400,
            f"Invalid query parameters startedFrom and startedTo: startedFrom ({startedFrom}) "
            f"must be before startedTo ({startedTo}).",
        )
    filters = JobFilters(
        customer_ids=reportparams.customer_ids(customerId),
        job_types=reportparams.codes(JOB_TYPES, "jobType", jobType),
        job_modules=reportparams.codes(JOB_MODULES, "jobModule", jobModule),
        statuses=reportparams.codes(STATUSES, "status", status),
        started_from=start,
        started_to=end,
        name_contains=q or None,
    )
    if filters.customer_ids:
        async with context.db.read() as connection:
            await reportparams.require_visible(connection, scope, filters.customer_ids)
    return filters


def _binding(principal: Principal, filters: JobFilters) -> bytes:
    return binding(
        "jobs",
        {
            "app": principal.client_id,
            "customerId": [str(c) for c in filters.customer_ids],
            "jobType": list(filters.job_types),
            "jobModule": list(filters.job_modules),
            "status": list(filters.statuses),
            "startedFrom": filters.started_from,
            "startedTo": filters.started_to,
            "q": filters.name_contains,
        },
    )


@get(
    "/api/v1/jobs",
    guards=[requires(*READ)],
    security=SECURITY,
    responses={
        200: ResponseSpec(
            data_container=ItemPage[V1Job],
            description="A page of job runs, newest first.",
            examples=[],
        ),
        **problem_responses(400, 401, 403, 404, 429),
    },
    summary="Every job run of the visible customers",
    description=(
        "The history: every job run, newest first (by start time, or last change for a job "
        "not started; ties by jobId, descending). Filters combine; a repeated one matches "
        "any of its values. Codes or catalog names, in any case (`status=3&status=Failed "
        "to start`). A customer the app may not see is a 404, as one that does not exist. "
        "Paged by cursor: follow `nextCursor` (or the `Link: rel=next` header) with the "
        "same filters; another filter set or an altered cursor is a 400."
    ),
    tags=["reports"],
)
async def list_jobs(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    customerId: CustomerIds = None,
    jobType: JobTypes = None,
    jobModule: JobModules = None,
    status: Statuses = None,
    startedFrom: StartedFrom = None,
    startedTo: StartedTo = None,
    q: NameContains = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[V1Job]]:
    scope = principal.tenant_scope
    filters = await _filters(
        context,
        scope,
        customerId=customerId,
        jobType=jobType,
        jobModule=jobModule,
        status=status,
        startedFrom=startedFrom,
        startedTo=startedTo,
        q=q,
    )
    bound = _binding(principal, filters)
    position = context.cursors.position(cursor, binding=bound, type=tuple[datetime, str])
    async with context.db.read() as connection:
        rows, next_position = await history_page(connection, scope, filters, position, limit=limit)
    now = datetime.now(UTC)
    items = [v1_job(row._mapping, now=now) for row in rows]
    return context.cursors.answer(request, items, next_position, binding=bound)


def neutralised(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made text with a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = neutralised(str(value))
    if any(special in text for special in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(job: V1Job) -> str:
    """One RFC 4180 record (CRLF-terminated) of a job record's fields."""
    return ",".join(_csv_cell(getattr(job, name)) for name in V1_JOB_FIELDS) + "\r\n"


CSV_HEADER = ",".join(V1_JOB_FIELDS) + "\r\n"
_json = msgspec.json.Encoder()


def _export_format(format: str | None, accept: str) -> str:
    if format is not None:
        chosen = {"csv": CSV, "ndjson": NDJSON}.get(format.strip().lower())
        if chosen is None:
            raise reportparams.invalid("format", format, "is not an export format: csv or ndjson")
        return chosen
    return NDJSON if NDJSON in accept and CSV not in accept else CSV


async def export_lines(
    context: AppContext, scope: TenantScope, filters: JobFilters, media_type: str
) -> AsyncGenerator[bytes, None]:
    """The export's bytes, a chunk at a time, read from one statement."""
    now = datetime.now(UTC)
    pending: list[bytes] = [CSV_HEADER.encode()] if media_type == CSV else []
    size = sum(map(len, pending))
    async with context.db.read() as connection:
        async for batch in stream_history(connection, scope, filters):
            for row in batch:
                job = v1_job(row._mapping, now=now)
                line = csv_line(job).encode() if media_type == CSV else _json.encode(job) + b"\n"
                pending.append(line)
                size += len(line)
                if size >= _CHUNK:
                    yield b"".join(pending)
                    pending, size = [], 0
    if pending:
        yield b"".join(pending)


async def gzipped(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for chunk in chunks:
        compressed = compressor.compress(chunk)
        if compressed:
            yield compressed
    yield compressor.flush()


@get(
    "/api/v1/jobs/export",
    guards=[requires(*READ)],
    security=SECURITY,
    responses={
        200: ResponseSpec(
            data_container=str,
            description=(
                "The history as CSV (RFC 4180, a header row of the job record's names) or "
                "NDJSON (one job record per line), as an attachment."
            ),
            media_type=CSV,
        ),
        **problem_responses(400, 401, 403, 404, 429),
    },
    summary="Export the history (CSV or NDJSON)",
    description=(
        "The history's filters and order, every matching job, streamed as it is read from "
        "one consistent snapshot. `format=csv` or `format=ndjson` (or `Accept: text/csv` / "
        "`application/x-ndjson`; CSV by default). Gzip-compressed when the request accepts "
        "it. CSV cells a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, "
        "tab, CR) start with `'`."
    ),
    tags=["reports"],
)
async def export_jobs(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    customerId: CustomerIds = None,
    jobType: JobTypes = None,
    jobModule: JobModules = None,
    status: Statuses = None,
    startedFrom: StartedFrom = None,
    startedTo: StartedTo = None,
    q: NameContains = None,
    format: Annotated[
        str | None,
        QueryParameter(
            description="`csv` or `ndjson` (default: by Accept, else csv).", required=False
        ),
    ] = None,
) -> Stream:
    media_type = _export_format(format, request.headers.get("accept", ""))
    filters = await _filters(
        context,
        principal.tenant_scope,
        customerId=customerId,
        jobType=jobType,
        jobModule=jobModule,
        status=status,
        startedFrom=startedFrom,
        startedTo=startedTo,
        q=q,
    )
    extension = "csv" if media_type == CSV else "ndjson"
    today = datetime.now(UTC).date().isoformat()
    headers = {
        "Content-Disposition": f'attachment; filename="backupjobs-jobs-{today}.{extension}"',
        "Vary": "Accept, Accept-Encoding",
    }
    lines = export_lines(context, principal.tenant_scope, filters, media_type)
    body = lines
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        body = gzipped(lines)
    charset = "; charset=utf-8" if media_type == CSV else ""
    # A client that goes away cancels the stream between two chunks, where the generators
    # wait: closing them then ends the statement and gives the connection back at once.
    return Stream(
        body,
        media_type=media_type + charset,
        headers=headers,
        background=BackgroundTask(_close, body, lines),
    )


async def _close(*generators: AsyncGenerator[bytes, None]) -> None:
    for generator in generators:
        await generator.aclose()


ROUTES = [list_jobs, export_jobs]
