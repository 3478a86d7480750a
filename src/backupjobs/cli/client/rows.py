"""Records as rows: what every output format shows of a customer or a job.

A row is a dict of typed values (codes beside names, bytes, seconds, ISO 8601 UTC times),
the same for the table, JSON and CSV formats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backupjobs.sdk import Customer, Job
from backupjobs.wire import format_time

#: What a service that has never run shows instead of a status (and why it needs attention).
NEVER_RUN = "never run"


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def customer_row(customer: Customer) -> dict[str, Any]:
    """A customer with its health (jobStatus) by name and code; management mode and
    tenants are None from the Modern API, which does not send them."""
    status, mode, tenants = customer.job_status, customer.management_mode, customer.tenants
    return {
        "customerId": customer.id,
        "organization": customer.organization,
        "jobStatus": None if status is None else status.name,
        "jobStatusCode": None if status is None else status.code,
        "ownerEmail": customer.owner_email,
        "countryOrRegion": customer.country_or_region,
        "managementMode": None if mode is None else mode.name,
        "managementModeCode": None if mode is None else mode.code,
        "tenants": None if tenants is None else [f"{t.name} ({t.id})" for t in tenants],
    }


def job_row(job: Job) -> dict[str, Any]:
    """A job with typed values: codes beside names, bytes, seconds, ISO 8601 UTC times."""
    return {
        "customerId": job.customer_id,
        "jobType": job.job_type.name,
        "jobTypeCode": job.job_type.code,
        "jobModule": job.job_module.name,
        "jobModuleCode": job.job_module.code,
        "status": job.status.name,
        "statusCode": job.status.code,
        "jobId": job.job_id,
        "name": job.name,
        "totalCount": job.total_count,
        "failedCount": job.failed_count,
        "successfulCount": job.successful_count,
        "skippedCount": job.skipped_count,
        "warningCount": job.warning_count,
        "backupSizeBytes": job.backup_size,
        "startTime": _time(job.start_time),
        "endTime": _time(job.end_time),
        "durationSeconds": None if job.duration is None else int(job.duration.total_seconds()),
        "lastModifyTime": _time(job.last_modify_time),
    }
