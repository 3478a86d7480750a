"""Job and customer rows exactly as each API generation writes them.

Both generations render the same :class:`~backupjobs.model.ServiceState`: a backup
service and its latest job, or no job (the placeholder row).

>>> from datetime import UTC, datetime
>>> from backupjobs.model import ServiceState
>>> v3_job_row(ServiceState(7, 302), datetime.now(UTC)).jobId
'N/A'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import msgspec

from backupjobs.catalog import (
    CUSTOMER_JOB_STATUSES,
    JOB_MODULES,
    JOB_TYPES,
    NOT_FINISHED,
    RUNNING,
    STATUSES,
    CodeTable,
)
from backupjobs.model import CustomerState, ServiceState
from backupjobs.wire.formats import (
    NOT_AVAILABLE,
    ZERO_SIZE,
    format_count,
    format_duration,
    format_size,
    format_text,
    format_time,
)


class V3JobRow(msgspec.Struct, frozen=True):
    """A row of the v3 jobs endpoint, fields in the seed's order."""

    jobType: int
    jobModule: int
    status: int
    jobId: str
    name: str
    totalCount: str
    failedCount: str
    successfulCount: str
    skippedCount: str
    warningCount: str
    backupSize: str
    startTime: str
    endTime: str
    jobDuration: str
    lastModifyTime: str


class ModernJobRow(msgspec.Struct, frozen=True):
    """A row of the Modern jobs feeds: every value a string, codes written as names."""

    jobType: str
    jobModule: str
    status: str
    jobId: str
    name: str
    totalCount: str
    failedCount: str
    successfulCount: str
    skippedCount: str
    warningCount: str
    backupSize: str
    startTime: str
    endTime: str
    jobDuration: str
    lastModifyTime: str


class TenantRow(msgspec.Struct, frozen=True):
    id: str
    name: str


class V3CustomerRow(msgspec.Struct, frozen=True):
    """A row of the v3 customers endpoint, as the vendor publishes it (SPEC §5)."""

    id: str
    organization: str
    ownerEmail: str
    jobStatus: int
    countryOrRegion: str
    managementMode: int
    tenants: list[TenantRow]


class ModernCustomerRow(msgspec.Struct, frozen=True):
    """A row of the Modern customers feed: every value a string, jobStatus its name."""

    id: str
    organization: str
    ownerEmail: str
    jobStatus: str
    countryOrRegion: str


class JobRow(Protocol):
    """What both generations' job rows have: the duration is the part that moves."""

    @property
    def jobDuration(self) -> str: ...


#: A job row of one API generation, for a service's state at ``now`` (the duration of a
#: running job is measured up to it): :func:`v3_job_row` or :func:`modern_job_row`.
JobRendering = Callable[[ServiceState, datetime], JobRow]


def _job_strings(state: ServiceState, now: datetime) -> tuple[str, ...]:
    """The string fields shared by both generations, jobId to lastModifyTime, in order."""
    if state.job_id is None:
        counts = "0"
        return (
            NOT_AVAILABLE, NOT_AVAILABLE, counts, counts, counts, counts, counts,
            ZERO_SIZE, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE,
        )  # fmt: skip
    return (
        state.job_id,
        format_text(state.name),
        format_count(state.total_count),
        format_count(state.failed_count),
        format_count(state.successful_count),
        format_count(state.skipped_count),
        format_count(state.warning_count),
        format_size(state.backup_size_bytes),
        format_time(state.start_time),
        format_time(state.end_time),
        format_duration(state.start_time, state.end_time, running=state.status == RUNNING, now=now),
        format_time(state.last_modify_time),
    )


def running_duration(state: ServiceState, now: datetime) -> str:
    """The ``jobDuration`` of a running job's row at ``now``: the part of it that grows."""
    return format_duration(state.start_time, state.end_time, running=True, now=now)


def v3_job_row(state: ServiceState, now: datetime) -> V3JobRow:
    """The v3 row; the placeholder (status 0, "N/A", "0", "0 GB") for a service with no job."""
    status = 0 if state.job_id is None or state.status is None else state.status
    return V3JobRow(state.job_type, state.job_module, status, *_job_strings(state, now))


def modern_job_row(state: ServiceState, now: datetime) -> ModernJobRow:
    """The Modern row; a service with no job is "Not Finished" as in the seed's sample."""
    if state.job_id is None or state.status is None:
        status = NOT_FINISHED
    else:
        status = _name(STATUSES, state.status)
    return ModernJobRow(
        _name(JOB_TYPES, state.job_type),
        _name(JOB_MODULES, state.job_module),
        status,
        *_job_strings(state, now),
    )


def _name(table: CodeTable, code: int) -> str:
    """A stored code's name; its number for a code the catalog does not hold (ingestion
    refuses those, but a page must render whatever the database holds)."""
    entry = table.find(code)
    return str(code) if entry is None else entry.display


def v3_customer_row(customer: CustomerState) -> V3CustomerRow:
    return V3CustomerRow(
        str(customer.id),
        customer.organization,
        customer.owner_email,
        int(customer.job_status),
        customer.country_or_region,
        customer.management_mode,
        [TenantRow(tenant.id, tenant.name) for tenant in customer.tenants],
    )


def modern_customer_row(customer: CustomerState) -> ModernCustomerRow:
    return ModernCustomerRow(
        str(customer.id),
        customer.organization,
        customer.owner_email,
        _name(CUSTOMER_JOB_STATUSES, customer.job_status),
        customer.country_or_region,
    )
