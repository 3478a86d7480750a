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
    problems: set[CustomerJobStatus] = set()
    seen = ran = False
    horizon = now - stale_after
    for status, last_modified in services:
        seen = True
        if status is None:
            continue
        ran = True
        if status in FAILED_STATUSES:
            problems.add(CustomerJobStatus.FAILED)
        elif status == FINISHED_WITH_EXCEPTION:
            problems.add(CustomerJobStatus.FINISHED_WITH_EXCEPTION)
        elif status == WAIT_FOR_CONFIGURATION:
            problems.add(CustomerJobStatus.WAITING_FOR_CONFIGURATION)
        if last_modified is not None and last_modified < horizon:
            problems.add(CustomerJobStatus.NO_BACKUP_UPDATES)
    if not seen:
        return CustomerJobStatus.NOT_AVAILABLE
    if not ran:
        return CustomerJobStatus.WAITING_FOR_CONFIGURATION
    if len(problems) > 1:
        return CustomerJobStatus.MULTIPLE_ISSUES
    return problems.pop() if problems else CustomerJobStatus.WORKING
