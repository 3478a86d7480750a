"""Job records as backup engines report them, and what ingestion made of them.

Each record of a batch is decoded and checked on its own, so that one bad record is
rejected with a reason while the others are stored.

>>> # record = parse_record(raw)    # a JobRecord, or RecordError naming the bad field
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, STATUSES, CodeTable, UnknownCodeError

MAX_JOB_ID_LENGTH = 128
MAX_NAME_LENGTH = 512

_Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_Time = Annotated[datetime, msgspec.Meta(tz=True)]
_JobId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JOB_ID_LENGTH)]


class JobRecord(msgspec.Struct, rename="camel", frozen=True):
    """One job run as reported; unknown fields are ignored."""

    job_id: _JobId
    customer_id: UUID
    job_type: int
    job_module: int
    status: int
    last_modify_time: _Time
    name: Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)] | None = None
    total_count: _Count | None = None
    failed_count: _Count | None = None
    successful_count: _Count | None = None
    skipped_count: _Count | None = None
    warning_count: _Count | None = None
    backup_size_bytes: _Count | None = None
    start_time: _Time | None = None
    end_time: _Time | None = None


class RecordError(ValueError):
    """Why one record cannot be stored."""


_REQUIRED = re.compile(r"Object missing required field `(\w+)`")
_AT_PATH = re.compile(r"^(.*) - at `\$\.?(.*)`$")
_TABLES: tuple[tuple[str, CodeTable], ...] = (
    ("job_type", JOB_TYPES),
    ("job_module", JOB_MODULES),
    ("status", STATUSES),
)


def describe_error(error: msgspec.ValidationError | msgspec.DecodeError) -> str:
    """msgspec's message with the field first: ``startTime: Expected `datetime` ...``."""
    text = str(error)
    required = _REQUIRED.search(text)
    if required:
        return f"{required.group(1)} is required"
    located = _AT_PATH.match(text)
    if located and located.group(2):
        return f"{located.group(2)}: {located.group(1)}"
    return text


def record_job_id(raw: msgspec.Raw) -> str | None:
    """The ``jobId`` of a raw record if it has a string one, for the rejection report."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(value, dict):
        job_id = value.get("jobId")
        return job_id if isinstance(job_id, str) else None
    return None


def parse_record(raw: msgspec.Raw) -> JobRecord:
    """Decode and check one record, or raise :class:`RecordError` naming the bad field."""
    try:
        record = msgspec.json.decode(raw, type=JobRecord)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise RecordError(describe_error(error)) from None
    for attribute, table in _TABLES:
        try:
            table.require(getattr(record, attribute))
        except UnknownCodeError as error:
            raise RecordError(str(error)) from None
    if not record.job_id.strip():
        raise RecordError("jobId must not be blank")
    if (
        record.start_time is not None
        and record.end_time is not None
        and record.end_time < record.start_time
    ):
        raise RecordError("endTime is before startTime")
    return record


@dataclass(slots=True)
class Rejection:
    """A record of a batch that was not stored, by its position in the batch."""

    index: int
    job_id: str | None
    error: str


@dataclass(slots=True)
class IngestResult:
    """What happened to each record of a batch."""

    stored: int = 0
    stale: int = 0
    rejected: list[Rejection] = field(default_factory=list)
