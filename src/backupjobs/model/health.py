"""A backup service's health (SPEC §10 "health"): what needs attention, worst first.

>>> from datetime import datetime, timedelta, timezone
>>> now = datetime(2026, 12, 2, tzinfo=timezone.utc)
>>> service_health(3, last_success=now - timedelta(days=3), since=now - timedelta(days=30),
...                now=now, stale_after=timedelta(hours=36))
(<Health.FAILING: 'failing'>, True)

``stale`` asks whether anything *succeeded* lately (status 2 or 4): a service that has run
but has no successful job within ``stale_after`` of ``now`` — counted from when it was
first seen if it never succeeded, so that a service enabled an hour ago is not stale yet.
A service that never ran is never stale. ``health`` is the worst that applies, in
:data:`HEALTH_ORDER`; a failing service can be stale too, and both are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import NamedTuple

from backupjobs.catalog import FAILED, FINISHED, FINISHED_WITH_EXCEPTION, RUNNING

ERROR_START = 7
WAIT_FOR_CONFIGURATION = 14
#: Statuses of a failed job, and of a successful one.
FAILED_STATUSES = frozenset({FAILED, ERROR_START})
SUCCESSFUL_STATUSES = frozenset({FINISHED, FINISHED_WITH_EXCEPTION})


class Health(StrEnum):
    FAILING = "failing"
    STALE = "stale"
    WARNING = "warning"
    WAITING = "waiting"
    RUNNING = "running"
    NEVER_RUN = "never_run"
    HEALTHY = "healthy"


#: Worst first: the order of the attention list (``/api/v1/services``).
HEALTH_ORDER: tuple[Health, ...] = tuple(Health)
#: A health's place in :data:`HEALTH_ORDER` (0 is the worst).
SEVERITY = {health: rank for rank, health in enumerate(HEALTH_ORDER)}


def is_stale(
    latest_status: int | None,
    *,
    last_success: datetime | None,
    since: datetime,
    now: datetime,
    stale_after: timedelta,
) -> bool:
    """Whether a service that has run has had no successful job within ``stale_after``."""
    if latest_status is None:
        return False
    return (last_success or since) < now - stale_after


def service_health(
    latest_status: int | None,
    *,
    last_success: datetime | None,
    since: datetime,
    now: datetime,
    stale_after: timedelta,
) -> tuple[Health, bool]:
    """``(health, stale)`` of a service whose latest job has ``latest_status`` (None: it
    never ran), whose latest success ended at ``last_success``, first seen at ``since``."""
    if latest_status is None:
        return Health.NEVER_RUN, False
    stale = is_stale(
        latest_status, last_success=last_success, since=since, now=now, stale_after=stale_after
    )
    if latest_status in FAILED_STATUSES:
        return Health.FAILING, stale
    if stale:
        return Health.STALE, True
    if latest_status == FINISHED_WITH_EXCEPTION:
        return Health.WARNING, False
    if latest_status == WAIT_FOR_CONFIGURATION:
        return Health.WAITING, False
    if latest_status == RUNNING:
        return Health.RUNNING, False
    return Health.HEALTHY, False


class CustomerJobStatus(IntEnum):
    """A customer's backup health (SPEC §5 "Customers"); names in
    :data:`backupjobs.catalog.CUSTOMER_JOB_STATUSES`."""

    NOT_AVAILABLE = 0
    WORKING = 1
    FAILED = 2
    WAITING_FOR_CONFIGURATION = 3
    MULTIPLE_ISSUES = 4
    FINISHED_WITH_EXCEPTION = 5
    NO_BACKUP_UPDATES = 6


#: Customers worst first (SPEC §10.3): the order of summaries and of the dashboard.
CUSTOMER_JOB_STATUS_ORDER: tuple[CustomerJobStatus, ...] = (
    CustomerJobStatus.MULTIPLE_ISSUES,
    CustomerJobStatus.FAILED,
    CustomerJobStatus.NO_BACKUP_UPDATES,
    CustomerJobStatus.FINISHED_WITH_EXCEPTION,
    CustomerJobStatus.WAITING_FOR_CONFIGURATION,
    CustomerJobStatus.WORKING,
    CustomerJobStatus.NOT_AVAILABLE,
)
#: A customer jobStatus's place in :data:`CUSTOMER_JOB_STATUS_ORDER` (0 is the worst).
CUSTOMER_SEVERITY = {status: rank for rank, status in enumerate(CUSTOMER_JOB_STATUS_ORDER)}


#: A customer's services' kinds of problem, as bits: ``ServicesSummary.problems``.
FAILED_PROBLEM = 1
EXCEPTION_PROBLEM = 2
WAITING_PROBLEM = 4
#: The kind of problem each bit means.
_PROBLEM_STATUS = {
    FAILED_PROBLEM: CustomerJobStatus.FAILED,
    EXCEPTION_PROBLEM: CustomerJobStatus.FINISHED_WITH_EXCEPTION,
    WAITING_PROBLEM: CustomerJobStatus.WAITING_FOR_CONFIGURATION,
}


def service_problem(status: int | None) -> int:
    """The problem bit of a service whose latest job has ``status`` (0: none)."""
    if status in FAILED_STATUSES:
        return FAILED_PROBLEM
    if status == FINISHED_WITH_EXCEPTION:
        return EXCEPTION_PROBLEM
    if status == WAIT_FOR_CONFIGURATION:
        return WAITING_PROBLEM
    return 0


class ServicesSummary(NamedTuple):
    """What a customer's jobStatus depends on, but for the time: how many services it has
    and how many have run, their problems' bits, and the oldest lastModifyTime among the
    latest jobs of those that ran. The store keeps one per customer, current on write."""

    services: int
    ran: int
    problems: int
    oldest_change: datetime | None


def summarize_services(services: Iterable[tuple[int | None, datetime | None]]) -> ServicesSummary:
    """The summary of services' latest jobs given as (status, lastModifyTime) pairs,
    ``(None, None)`` for a service that never ran."""
    count = ran = problems = 0
    oldest: datetime | None = None
    for status, last_modified in services:
        count += 1
        if status is None:
            continue
        ran += 1
        problems |= service_problem(status)
        if last_modified is not None and (oldest is None or last_modified < oldest):
            oldest = last_modified
    return ServicesSummary(count, ran, problems, oldest)


def summary_job_status(
    summary: ServicesSummary, *, now: datetime, stale_after: timedelta
) -> CustomerJobStatus:
    """The jobStatus of a customer whose services are ``summary``, at ``now``: the rule
    of :func:`customer_job_status`."""
    if not summary.services:
        return CustomerJobStatus.NOT_AVAILABLE
    if not summary.ran:
        return CustomerJobStatus.WAITING_FOR_CONFIGURATION
    stale = summary.oldest_change is not None and summary.oldest_change < now - stale_after
    return _STATUS_OF_PROBLEMS[summary.problems, stale]


def _problems_status(problems: int, stale: bool) -> CustomerJobStatus:
    """The jobStatus of a customer whose services have run, with the problems' bits
    ``problems``, stale or not (:func:`customer_job_status`)."""
    kinds = {status for bit, status in _PROBLEM_STATUS.items() if problems & bit}
    if stale:
        kinds.add(CustomerJobStatus.NO_BACKUP_UPDATES)
    if not kinds:
        return CustomerJobStatus.WORKING
    return CustomerJobStatus.MULTIPLE_ISSUES if len(kinds) > 1 else kinds.pop()


#: :func:`_problems_status` of every combination, worked out once: a summary asks it of
#: every customer (2,000), and building a set of enum members (hashed in Python) for
#: each cost about a fifth of the summary's Python (a py-spy profile, 2026-12-04).
_STATUS_OF_PROBLEMS = {
    (problems, stale): _problems_status(problems, stale)
    for problems in range((FAILED_PROBLEM | EXCEPTION_PROBLEM | WAITING_PROBLEM) + 1)
    for stale in (False, True)
}


def customer_job_status(
    services: Iterable[tuple[int | None, datetime | None]],
    *,
    now: datetime,
    stale_after: timedelta,
) -> CustomerJobStatus:
    """The jobStatus of a customer whose services' latest jobs are ``services``: pairs of
    (status, lastModifyTime), ``(None, None)`` for a service that never ran.

    A service is a problem when its latest job failed (3 or 7), finished with exception
    (4), waits for configuration (14), or changed last before ``now - stale_after`` (no
    backup updates). No problem: Working; one kind of problem: that kind; several: 4.
    Services that never ran are no problem, but a customer whose services all never ran
    waits for configuration; a customer without services is N/A.

    >>> from datetime import timezone
    >>> now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    >>> customer_job_status([(3, now), (4, now)], now=now, stale_after=timedelta(hours=36))
    <CustomerJobStatus.MULTIPLE_ISSUES: 4>
    """
    return summary_job_status(summarize_services(services), now=now, stale_after=stale_after)
