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
from backupjobs.api.requests import TOO_DEEP, json_body_operation, require_json
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.model import IngestResult, JobRecord, RecordError, parse_record, record_job_id

MAX_RECORDS_PER_REQUEST = 1_000


class RejectedRecord(msgspec.Struct):
    index: int
    jobId: str | None
    error: str


class IngestAnswer(msgspec.Struct):
    stored: int
    stale: int
    rejected: list[RejectedRecord]


_RECORD = Schema(
    type=OpenAPIType.OBJECT,
    required=["jobId", "customerId", "jobType", "jobModule", "status", "lastModifyTime"],
    properties={
        "jobId": Schema(type=OpenAPIType.STRING, max_length=128),
        "customerId": Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
        "jobType": Schema(type=OpenAPIType.INTEGER),
        "jobModule": Schema(type=OpenAPIType.INTEGER),
        "status": Schema(type=OpenAPIType.INTEGER),
        "name": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], max_length=512),
        **{
            count: Schema(type=[OpenAPIType.INTEGER, OpenAPIType.NULL], minimum=0)
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
                description="ISO 8601 with a UTC offset.",
            )
            for time in ("startTime", "endTime", "lastModifyTime")
        },
    },
)
_BATCH = Schema(
    type=OpenAPIType.ARRAY,
    items=_RECORD,
    max_items=MAX_RECORDS_PER_REQUEST,
    description="Job records, at most 1,000.",
)


def _decode_batch(raw: bytes) -> list[msgspec.Raw]:
    try:
        batch = msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise ProblemError(400, "The request body must be a JSON array of job records.") from None
    except msgspec.DecodeError:
        raise ProblemError(400, "The request body is not valid JSON.") from None
    except RecursionError:
        raise ProblemError(400, TOO_DEEP) from None
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
        "rejected ones are listed with the reason. The answer comes after the commit."
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
    if valid:
        result = await context.ingestor.ingest_batch(principal.tenant_scope, valid)
    rejected.extend(RejectedRecord(r.index, r.job_id, r.error) for r in result.rejected)
    rejected.sort(key=lambda r: r.index)
    counter = context.metrics.jobs_ingested
    counter.labels("stored").inc(result.stored)
    counter.labels("stale").inc(result.stale)
    counter.labels("rejected").inc(len(rejected))
    return IngestAnswer(result.stored, result.stale, rejected)
