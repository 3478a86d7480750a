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
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.api import reportparams
from backupjobs.api.context import AppContext
from backupjobs.api.listing import Cursor, ItemPage, Limit
from backupjobs.api.problems import problem_responses
from backupjobs.api.reportparams import ReportFilters
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.infra.cursors import binding
from backupjobs.store.history import JobFilters, history_page, stream_history
from backupjobs.store.scope import TenantScope
from backupjobs.wire.v1 import V1_JOB_FIELDS, V1Job, v1_job

READ = (Permission.V3_JOBS_READ, Permission.MODERN_JOBS_READ)
#: The history's filters (SPEC §10.1), and the export's: the same, and its format.
HISTORY = ("customerId", "jobType", "jobModule", "status", "startedFrom", "startedTo", "q")
HISTORY_FILTERS = reportparams.report_filters(*HISTORY)
EXPORT_FILTERS = reportparams.report_filters(*HISTORY, "format")
CSV = reportparams.CSV
NDJSON = reportparams.NDJSON
#: Cells a spreadsheet would run as a formula start with one of these (OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A CSV cell holding one of these is quoted (RFC 4180).
_QUOTED = (",", '"', "\r", "\n")
_SEPARATORS = len(V1_JOB_FIELDS) - 1
#: Bytes gathered before a chunk of the export is sent.
_CHUNK = 64 * 1024
#: Lines encoded in one call (msgspec's own loop, not a call per line): well under a chunk.
_LINES = 50

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


def _binding(principal: Principal, filters: ReportFilters) -> bytes:
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
    dependencies={"filters": HISTORY_FILTERS},
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
    filters: NamedDependency[ReportFilters],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[V1Job]]:
    scope = principal.tenant_scope
    bound = _binding(principal, filters)
    position = context.cursors.position(cursor, binding=bound, type=tuple[datetime, str])
    async with context.db.read() as connection:
        rows, next_position = await history_page(
            connection, scope, filters.jobs(), position, limit=limit
        )
    now = datetime.now(UTC)
    items = [v1_job(row._mapping, now=now) for row in rows]
    return context.cursors.answer(request, items, next_position, binding=bound)


def neutralised(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made text with a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_cell(value: Any) -> str:
    """A value as an RFC 4180 cell: empty for none, a formula neutralised, quoted when it
    holds a comma, a quote or a line break."""
    if value is None:
        return ""
    text = neutralised(str(value))
    if any(special in text for special in _QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(job: V1Job) -> str:
    """One RFC 4180 record (CRLF-terminated) of a job record's fields."""
    cells = ["" if value is None else str(value) for value in msgspec.structs.astuple(job)]
    line = ",".join(cells)
    if not _plain(line):
        line = ",".join(map(csv_cell, cells))
    return line + "\r\n"


def _plain(line: str) -> bool:
    """No cell of ``line`` (the cells joined by commas) needs quoting or neutralising: it
    holds the separators' commas alone, no quote nor line break, and no cell starts like
    a formula (:data:`_FORMULA_STARTS`, ``\r`` a line break). Most records are; read on the
    whole line by C's substring search, a tenth of the cost of each cell's test."""
    return not (
        line.count(",") != _SEPARATORS
        or line.startswith(_FORMULA_STARTS)
        or '"' in line
        or "\r" in line
        or "\n" in line
        or ",=" in line
        or ",+" in line
        or ",-" in line
        or ",@" in line
        or ",\t" in line
    )


CSV_HEADER = ",".join(V1_JOB_FIELDS) + "\r\n"
_json = msgspec.json.Encoder()


async def export_lines(
    context: AppContext, scope: TenantScope, filters: JobFilters, media_type: str
) -> AsyncGenerator[bytes, None]:
    """The export's bytes, a chunk at a time, read from one statement."""
    async with context.db.read() as connection:
        async for chunk in export_chunks(
            connection, scope, filters, media_type, now=datetime.now(UTC)
        ):
            yield chunk


async def export_chunks(
    connection: AsyncConnection,
    scope: TenantScope,
    filters: JobFilters,
    media_type: str,
    *,
    now: datetime,
) -> AsyncGenerator[bytes, None]:
    """The history's job records (CSV with its header row, or NDJSON), about
    :data:`_CHUNK` bytes at a time; ``now``: a running job's duration is up to it."""
    pending: list[bytes] = [CSV_HEADER.encode()] if media_type == CSV else []
    size = sum(map(len, pending))
    async for batch in stream_history(connection, scope, filters):
        for start in range(0, len(batch), _LINES):
            jobs = [v1_job(row, now=now) for row in batch[start : start + _LINES]]
            lines = (
                "".join(map(csv_line, jobs)).encode()
                if media_type == CSV
                else _json.encode_lines(jobs)
            )
            pending.append(lines)
            size += len(lines)
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
    dependencies={"filters": EXPORT_FILTERS},
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
    filters: NamedDependency[ReportFilters],
) -> Stream:
    accept = request.headers.get("accept", "")
    media_type = filters.export_type or (NDJSON if NDJSON in accept and CSV not in accept else CSV)
    extension = "csv" if media_type == CSV else "ndjson"
    today = datetime.now(UTC).date().isoformat()
    headers = {
        "Content-Disposition": f'attachment; filename="backupjobs-jobs-{today}.{extension}"',
        "Vary": "Accept, Accept-Encoding",
    }
    lines = export_lines(context, principal.tenant_scope, filters.jobs(), media_type)
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
