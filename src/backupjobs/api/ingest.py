"""Ingestion: backup engines report job records (this product's own API).

The body is decoded here rather than by Litestar: each record is validated on its own,
so that one bad record is rejected with its reason while the others are stored.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Schema

from backupjobs.api.context import AppContext
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.requests import code_schema, decode_body, json_body_operation, require_json
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, CodeTable
from backupjobs.model import IngestResult, JobRecord, RecordError, parse_record, record_job_id
from backupjobs.model.records import MAX_JOB_ID_LENGTH, MAX_NAME_LENGTH

MAX_RECORDS_PER_REQUEST = 1_000


class RejectedRecord(msgspec.Struct):
    index: int
    jobId: str | None
    error: str


class IngestAnswer(msgspec.Struct):
    stored: int
    stale: int
    rejected: list[RejectedRecord]


def _code(table: CodeTable, description: str) -> Schema:
    return Schema(
        any_of=[
            code_schema(table, description),
            Schema(
                type=OpenAPIType.STRING,
                description="Or a catalog name, in any case (one two codes share is refused).",
            ),
        ]
    )


#: A job record as ingestion reads it (the first form of an item of the body in the
#: OpenAPI document). A record that does not match is rejected alone (the answer lists it).
JOB_RECORD = Schema(
    type=OpenAPIType.OBJECT,
    required=["jobId", "customerId", "jobType", "jobModule", "status", "lastModifyTime"],
    additional_properties=False,
    properties={
        "jobId": Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=MAX_JOB_ID_LENGTH,
            description="Unique across the partner's customers; no NUL character.",
        ),
        "customerId": Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
        "jobType": _code(JOB_TYPES, "The job type."),
        "jobModule": _code(JOB_MODULES, "The job module."),
        "status": _code(STATUSES, "The job's status."),
        "name": Schema(
            type=[OpenAPIType.STRING, OpenAPIType.NULL],
            max_length=MAX_NAME_LENGTH,
            description="No NUL character.",
        ),
        **{
            count: Schema(
                type=[OpenAPIType.INTEGER, OpenAPIType.NULL], minimum=0, maximum=2**63 - 1
            )
            for count in (
                "totalCount",
                "failedCount",
                "successfulCount",
                "skippedCount",
                "warningCount",
                "backupSizeBytes",
            )
        },
        **{
            time: Schema(
                type=[OpenAPIType.STRING, OpenAPIType.NULL],
                format="date-time",  # type: ignore[arg-type]
                description=(
                    "ISO 8601 with a UTC offset of at most 15:59 either way, in years 1 to "
                    "9999 once in UTC."
                ),
            )
            for time in ("startTime", "endTime", "lastModifyTime")
        },
    },
    description=(
        "A job run. Every field but these is refused (a misspelt one is named, with the "
        "right name when it is close); a key may be given once. endTime may not precede "
        "startTime."
    ),
)
_BATCH = Schema(
    type=OpenAPIType.ARRAY,
    items=Schema(
        any_of=[
            JOB_RECORD,
            Schema(
                description=(
                    "Anything else is taken too, and rejected alone: each item is checked on "
                    "its own, one that is not a job record is listed in the answer's "
                    "rejected with the reason, and the others are stored."
                )
            ),
        ]
    ),
    max_items=MAX_RECORDS_PER_REQUEST,
    description="Job records, at most 1,000.",
)


def _decode_batch(raw: bytes) -> list[msgspec.Raw]:
    batch = decode_body(
        raw, list[msgspec.Raw], lambda _: "The request body must be a JSON array of job records."
    )
    if len(batch) > MAX_RECORDS_PER_REQUEST:
        raise ProblemError(
            400,
            f"A request may carry at most {MAX_RECORDS_PER_REQUEST} job records; "
            f"this one has {len(batch)}.",
        )
    return batch


@post(
    "/api/v1/ingest/jobs",
    status_code=200,
    guards=[requires(Permission.JOBS_WRITE)],
    security=SECURITY,
    responses=problem_responses(400, 401, 403, 413, 415, 429),
    operation_class=json_body_operation(_BATCH, "Job records to store.", required=True),
    summary="Record job runs",
    description=(
        "Upserts each record by (partner, jobId). A record older than the stored one (by "
        "lastModifyTime) is counted as stale and ignored. Records are validated one by one; "
        "rejected ones are listed with the reason. The "
        "body must be `application/json` (or a `+json` type: 415 otherwise). The answer "
        "comes after the commit."
    ),
    tags=["ingestion"],
)
async def ingest_jobs(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> IngestAnswer:
    require_json(request)
    batch = _decode_batch(await request.body())
    valid: list[tuple[int, JobRecord]] = []
    rejected: list[RejectedRecord] = []
    for index, raw in enumerate(batch):
        try:
            valid.append((index, parse_record(raw)))
        except RecordError as error:
            rejected.append(RejectedRecord(index, record_job_id(raw), str(error)))
    result = IngestResult()
    # The batch's webhook deliveries are written claimed for this process's deliverer,
    # which sends them once committed with no claim of its own (alerts.runtime).
    claimed_here = context.alerts.claim_here()
    if valid:
        result = await context.ingestor.ingest_batch(
            principal.tenant_scope, valid, claimed_here=claimed_here
        )
    if result.deliveries:
        context.alerts.take(claimed_here)
        context.metrics.alerts.deliveries_created.inc(result.deliveries)
    rejected.extend(RejectedRecord(r.index, r.job_id, r.error) for r in result.rejected)
    rejected.sort(key=lambda r: r.index)
    counter = context.metrics.jobs_ingested
    counter.labels("stored").inc(result.stored)
    counter.labels("stale").inc(result.stale)
    counter.labels("rejected").inc(len(rejected))
    return IngestAnswer(result.stored, result.stale, rejected)
