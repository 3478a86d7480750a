"""A service's health: the worst that applies, and staleness on its own."""

from datetime import UTC, datetime, timedelta

import pytest

from backupjobs.catalog import CUSTOMER_JOB_STATUSES
from backupjobs.model.health import (
    CUSTOMER_JOB_STATUS_ORDER,
    CUSTOMER_SEVERITY,
    HEALTH_ORDER,
    CustomerJobStatus,
    Health,
    customer_job_status,
    is_stale,
    service_health,
)

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
DAY = timedelta(days=1)
THRESHOLD = timedelta(hours=36)


def health(status, *, last_success=NOW - DAY, since=NOW - 30 * DAY):
    return service_health(
        status, last_success=last_success, since=since, now=NOW, stale_after=THRESHOLD
    )


def test_worst_first_is_the_spec_s_order():
    assert [h.value for h in HEALTH_ORDER] == [
        "failing", "stale", "warning", "waiting", "running", "never_run", "healthy",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (3, Health.FAILING),
        (7, Health.FAILING),
        (4, Health.WARNING),
        (14, Health.WAITING),
        (1, Health.RUNNING),
        (2, Health.HEALTHY),
        (5, Health.HEALTHY),
        (8, Health.HEALTHY),
        (None, Health.NEVER_RUN),
    ],
)
def test_each_latest_status_has_its_health(status, expected):
    assert health(status) == (expected, False)


def test_a_failing_service_can_be_stale_too():
    assert health(3, last_success=NOW - 3 * DAY) == (Health.FAILING, True)


@pytest.mark.parametrize("status", [1, 2, 4, 14])
def test_stale_outranks_every_health_but_failing(status):
    assert health(status, last_success=NOW - 2 * DAY) == (Health.STALE, True)


def test_the_threshold_is_exclusive_of_its_edge():
    assert not is_stale(2, last_success=NOW - THRESHOLD, since=NOW - DAY * 9, now=NOW,
                        stale_after=THRESHOLD)  # fmt: skip
    assert is_stale(2, last_success=NOW - THRESHOLD - timedelta(microseconds=1),
                    since=NOW - DAY * 9, now=NOW, stale_after=THRESHOLD)  # fmt: skip


def test_a_service_that_never_succeeded_is_stale_only_once_it_is_older_than_the_threshold():
    assert health(3, last_success=None, since=NOW - timedelta(hours=1)) == (Health.FAILING, False)
    assert health(1, last_success=None, since=NOW - timedelta(hours=1)) == (Health.RUNNING, False)
    assert health(1, last_success=None, since=NOW - 2 * DAY) == (Health.STALE, True)


def test_a_service_that_never_ran_is_never_stale():
    assert health(None, last_success=None, since=NOW - 300 * DAY) == (Health.NEVER_RUN, False)


# The customer's jobStatus (SPEC §5 "Customers").

RECENT = NOW - timedelta(hours=1)
QUIET = NOW - timedelta(hours=37)


def job_status(*services: tuple[int | None, datetime | None]) -> int:
    return customer_job_status(services, now=NOW, stale_after=timedelta(hours=36))


def test_a_customer_without_services_is_not_available():
    assert job_status() == CustomerJobStatus.NOT_AVAILABLE == 0


def test_a_customer_whose_services_never_ran_waits_for_configuration():
    assert job_status((None, None), (None, None)) == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [(2, 1), (1, 1), (3, 2), (7, 2), (4, 5), (14, 3), (5, 1), (8, 1)],
)
def test_one_service_gives_its_kind_of_problem(status, expected):
    assert job_status((status, RECENT)) == expected
    assert job_status((status, RECENT), (None, None)) == expected


def test_no_job_changed_within_the_threshold_is_no_backup_updates():
    assert job_status((2, QUIET), (2, RECENT)) == 6
    assert job_status((2, NOW - timedelta(hours=36))) == 1


def test_two_kinds_of_problem_are_multiple_issues():
    assert job_status((3, RECENT), (4, RECENT)) == 4
    assert job_status((3, QUIET)) == 4
    assert job_status((3, RECENT), (7, RECENT)) == 2


def test_every_code_has_its_modern_name_and_the_order_is_worst_first():
    names = [CUSTOMER_JOB_STATUSES.require(status).display for status in CUSTOMER_JOB_STATUS_ORDER]
    assert names == [
        "Multiple issues found",
        "Failed",
        "No backup updates",
        "Finished with exception",
        "Waiting for configuration",
        "Working",
        "N/A",
    ]
    assert sorted(CUSTOMER_SEVERITY, key=CUSTOMER_SEVERITY.__getitem__) == list(
        CUSTOMER_JOB_STATUS_ORDER
    )
