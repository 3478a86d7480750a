"""This product's own API (``/api/v1``): the job record, with real types.

SPEC §10: camelCase names, integers, bytes as integers, durations in seconds, times RFC
3339 UTC at the precision stored, ``null`` for what is missing, codes with their catalog
display names beside them.

>>> from datetime import datetime, timezone
>>> format_instant(datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=timezone.utc))
'2025-09-11T03:21:16.800Z'
>>> format_instant(datetime(2025, 9, 11, 3, 21, 16, 123456, tzinfo=timezone.utc))
'2025-09-11T03:21:16.123456Z'
>>> format_instant(datetime(5, 1, 1, 0, 0, 0, 1000, tzinfo=timezone(timedelta(hours=-3))))
'0005-01-01T03:00:00.001Z'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, RUNNING, STATUSES, CodeTable

_SECOND = timedelta(seconds=1)
_encode = msgspec.json.Encoder().encode
#: The length of msgspec's JSON of a time in UTC without a fraction, quotes included.
_WHOLE_SECOND = len('"2025-09-11T03:21:16Z"')


def format_instant(value: datetime) -> str:
    """RFC 3339 in UTC: milliseconds, or microseconds when the time has them."""
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    # Cut from msgspec's own ('"2025-09-11T03:21:16.800000Z"', no fraction when zero):
    # an export renders three a row, and isoformat() cost four times as much (1.5 us).
    text = _encode(utc)
    if len(text) == _WHOLE_SECOND:
        return text[1:20].decode() + ".000Z"
    if text[24:27] == b"000":
        return text[1:24].decode() + "Z"
    return text[1:-1].decode()


def optional_instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def duration_seconds(
    start: datetime | None, end: datetime | None, *, status: int, now: datetime
) -> int | None:
    """Whole seconds from start to end (a running job: to ``now``); None when not known.
    The same rule as the vendor APIs' ``jobDuration`` (``wire.formats.format_duration``)."""
    if start is None:
        return None
    if end is None:
        if status != RUNNING:
            return None
        end = now
    return max((end - start) // _SECOND, 0)


class V1Job(msgspec.Struct):
    """A job record (SPEC §10): history, export and alert payloads."""

    jobId: str
    customerId: UUID
    customerName: str
    jobType: int
    jobTypeName: str
    jobModule: int
    jobModuleName: str
    status: int
    statusName: str
    name: str | None
    totalCount: int | None
    failedCount: int | None
    successfulCount: int | None
    skippedCount: int | None
    warningCount: int | None
    backupSizeBytes: int | None
    startTime: str | None
    endTime: str | None
    durationSeconds: int | None
    lastModifyTime: str


#: The names of a job record's fields, in order (a CSV export's header row).
V1_JOB_FIELDS: tuple[str, ...] = V1Job.__struct_fields__


def _display_names(table: CodeTable) -> dict[int, str]:
    return {entry.code: entry.display for entry in table}


_JOB_TYPE_NAMES = _display_names(JOB_TYPES)
_JOB_MODULE_NAMES = _display_names(JOB_MODULES)
_STATUS_NAMES = _display_names(STATUSES)


def v1_job(row: Mapping[str, Any], *, now: datetime) -> V1Job:
    """The job record of ``row``: a job's columns as the ``jobs`` table names them, and
    ``customer_name``. An export renders one per row: the record is built by position
    (half the cost of 20 keywords) and the catalog's names read from dicts; a code the
    catalog does not have raises, as ``require`` says."""
    job_type: int = row["job_type"]
    job_module: int = row["job_module"]
    status: int = row["status"]
    start, end = row["start_time"], row["end_time"]
    return V1Job(
        row["job_id"],  # jobId
        row["customer_id"],  # customerId
        row["customer_name"],  # customerName
        job_type,
        _JOB_TYPE_NAMES.get(job_type) or JOB_TYPES.require(job_type).display,
        job_module,
        _JOB_MODULE_NAMES.get(job_module) or JOB_MODULES.require(job_module).display,
        status,
        _STATUS_NAMES.get(status) or STATUSES.require(status).display,
        row["name"],
        row["total_count"],
        row["failed_count"],
        row["successful_count"],
        row["skipped_count"],
        row["warning_count"],
        row["backup_size_bytes"],
        None if start is None else format_instant(start),  # startTime
        None if end is None else format_instant(end),  # endTime
        duration_seconds(start, end, status=status, now=now),
        format_instant(row["last_modify_time"]),  # lastModifyTime
    )


class V1Service(msgspec.Struct):
    """A backup service with its health (SPEC §10.2): the attention list's item."""

    customerId: UUID
    customerName: str
    jobType: int
    jobTypeName: str
    jobModule: int
    jobModuleName: str
    health: str
    stale: bool
    latestJob: V1Job | None
    lastSuccessTime: str | None
    consecutiveFailures: int
    openIncidentId: str | None


#: The prefix of a service's latest job's columns (``backup_services.latest_*``).
_LATEST = "latest_"


def v1_service(row: Mapping[str, Any], *, health: str, stale: bool, now: datetime) -> V1Service:
    """The attention list's item for ``row``: a ``backup_services`` row,
    ``customer_name`` and ``open_incident_id`` (the service's open alert incident, SPEC
    §10.5, or none); ``health`` and ``stale`` as :mod:`backupjobs.model.health` rules."""
    latest = None
    if row[_LATEST + "job_id"] is not None:
        job = {
            name[len(_LATEST) :]: value for name, value in row.items() if name.startswith(_LATEST)
        }
        job.update(
            customer_id=row["customer_id"],
            customer_name=row["customer_name"],
            job_type=row["job_type"],
            job_module=row["job_module"],
        )
        latest = v1_job(job, now=now)
    return V1Service(
        customerId=row["customer_id"],
        customerName=row["customer_name"],
        jobType=row["job_type"],
        jobTypeName=JOB_TYPES.require(row["job_type"]).display,
        jobModule=row["job_module"],
        jobModuleName=JOB_MODULES.require(row["job_module"]).display,
        health=health,
        stale=stale,
        latestJob=latest,
        lastSuccessTime=optional_instant(row["last_success_time"]),
        consecutiveFailures=row["consecutive_failures"],
        openIncidentId=None if (incident := row["open_incident_id"]) is None else str(incident),
    )


def by_status_names(by_status: Mapping[int, int]) -> dict[str, int]:
    """Counts by status code as counts by the statuses' display names, in code order."""
    return {STATUSES.require(code).display: by_status[code] for code in sorted(by_status)}


class V1Totals(msgspec.Struct):
    customers: int
    services: int
    jobs: int
    byStatus: dict[str, int]
    successRate: float | None
    failingServices: int
    staleServices: int
    backupSizeBytes: int


class V1CustomerSummary(msgspec.Struct):
    customerId: UUID
    customerName: str
    jobStatus: int
    jobStatusName: str
    jobs: int
    byStatus: dict[str, int]
    successRate: float | None
    lastSuccessTime: str | None
    failingServices: int
    staleServices: int
    backupSizeBytes: int


class V1Summary(msgspec.Struct):
    """``/api/v1/summary`` (SPEC §10.3): the window, totals, customers worst first."""

    from_: str = msgspec.field(name="from")
    to: str = ""
    totals: V1Totals | None = None
    customers: list[V1CustomerSummary] = msgspec.field(default_factory=list)
    nextCursor: str | None = None


class V1Day(msgspec.Struct):
    """One customer's outcomes on one calendar day (``/api/v1/daily``)."""

    date: str
    customerId: UUID
    byStatus: dict[str, int]
    jobs: int
    backupSizeBytes: int
    durationSeconds: int
