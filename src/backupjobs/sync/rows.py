"""An upstream's job rows, as the SDK read them, back into records for ingestion.

>>> # record = job_record(job)      # a JobRecord, or RecordError naming what is wrong

The SDK has already read the wire formats: codes, UTC times, ``17m39s``, and sizes such
as ``1.5 GB`` into bytes. The vendor rounds a size to one decimal of its unit, so a
synced ``backupSizeBytes`` is that rounded figure (``1.5 GB`` is 1610612736 bytes),
not the engine's exact count. A duration is not stored: start and end times say it.
The record then goes through the checks every ingested record does
(:func:`~backupjobs.model.parse_record`).

A customer row's fields (owner email, country or region, management mode, tenants)
become the local customer's profile (:func:`customer_profile`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from backupjobs.catalog import JOB_MODULES, JOB_TYPES
from backupjobs.model import (
    DEFAULT_MANAGEMENT_MODE,
    CustomerProfile,
    JobRecord,
    RecordError,
    Tenant,
    parse_record,
)
from backupjobs.sdk import Coded, Customer, Job


def _code(value: Coded) -> int | str:
    # An unknown name has no code: parse_record rejects it by name, with the valid ones.
    return value.code if value.code is not None else value.name


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def job_record(job: Job) -> JobRecord:
    """The record of an upstream row that has a job (``job.has_run``)."""
    if job.job_id is None:
        raise RecordError("a row without jobId is a service with no job, not a record")
    reported: dict[str, Any] = {
        "jobId": job.job_id,
        "customerId": job.customer_id,
        "jobType": _code(job.job_type),
        "jobModule": _code(job.job_module),
        "status": _code(job.status),
        "lastModifyTime": _time(job.last_modify_time),
        "name": job.name,
        "totalCount": job.total_count,
        "failedCount": job.failed_count,
        "successfulCount": job.successful_count,
        "skippedCount": job.skipped_count,
        "warningCount": job.warning_count,
        "backupSizeBytes": job.backup_size,
        "startTime": _time(job.start_time),
        "endTime": _time(job.end_time),
    }
    present = {name: value for name, value in reported.items() if value is not None}
    try:
        return parse_record(msgspec.Raw(msgspec.json.encode(present)))
    except RecordError as error:
        raise RecordError(f"job {job.job_id}: {error}") from None


def service_key(job: Job) -> tuple[int, int]:
    """The (jobType, jobModule) codes of a row's backup service; RecordError if the
    catalog does not know one (ingestion would refuse its jobs too)."""
    job_type, job_module = job.service
    known = job_type in JOB_TYPES and job_module in JOB_MODULES
    if job_type is None or job_module is None or not known:
        raise RecordError(f"unknown backup service {job.job_type.name!r} / {job.job_module.name!r}")
    return job_type, job_module


def customer_profile(customer: Customer) -> CustomerProfile:
    """The profile of an upstream customer row; what the row does not say (the Modern
    API sends no management mode or tenants) is the default."""
    mode = customer.management_mode
    return CustomerProfile(
        owner_email=customer.owner_email or "",
        country_or_region=customer.country_or_region or "",
        management_mode=(
            mode.code if mode is not None and mode.code is not None else DEFAULT_MANAGEMENT_MODE
        ),
        tenants=tuple(Tenant(tenant.id, tenant.name or "") for tenant in customer.tenants or ()),
    )
