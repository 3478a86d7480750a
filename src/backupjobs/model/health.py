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

from datetime import datetime, timedelta
from enum import StrEnum

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
