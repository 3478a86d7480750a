"""The /api/v1 job record: real types, codes beside their names, times as stored."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupjobs.catalog import UnknownCodeError
from backupjobs.wire.v1 import V1_JOB_FIELDS, duration_seconds, format_instant, v1_job

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
CUSTOMER = uuid.UUID("00427fbc-8832-46cf-a1d2-582fa46ec638")


def row(**changes):
    base = {
        "job_id": "FB20250911032116214502",
        "customer_id": CUSTOMER,
        "customer_name": "Northwind Traders",
        "job_type": 7,
        "job_module": 304,
        "status": 2,
        "name": "Nightly groups",
        "total_count": 2323,
        "failed_count": 0,
        "successful_count": 2323,
        "skipped_count": 0,
        "warning_count": 0,
        "backup_size_bytes": 1073741824,
        "start_time": datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=UTC),
        "end_time": datetime(2025, 9, 11, 3, 38, 56, 200000, tzinfo=UTC),
        "last_modify_time": datetime(2025, 9, 11, 3, 38, 57, tzinfo=UTC),
    }
    return base | changes


def test_a_finished_job_as_json():
    record = msgspec.json.decode(msgspec.json.encode(v1_job(row(), now=NOW)))
    assert record == {
        "jobId": "FB20250911032116214502",
        "customerId": "00427fbc-8832-46cf-a1d2-582fa46ec638",
        "customerName": "Northwind Traders",
        "jobType": 7,
        "jobTypeName": "Microsoft 365",
        "jobModule": 304,
        "jobModuleName": "Microsoft 365 Groups",
        "status": 2,
        "statusName": "Finished",
        "name": "Nightly groups",
        "totalCount": 2323,
        "failedCount": 0,
        "successfulCount": 2323,
        "skippedCount": 0,
        "warningCount": 0,
        "backupSizeBytes": 1073741824,
        "startTime": "2025-09-11T03:21:16.800Z",
        "endTime": "2025-09-11T03:38:56.200Z",
        "durationSeconds": 1059,  # 17m39s, as the seed's jobDuration
        "lastModifyTime": "2025-09-11T03:38:57.000Z",
    }
    assert tuple(record) == V1_JOB_FIELDS


def test_what_is_missing_is_null_never_n_a():
    record = v1_job(
        row(status=13, name=None, total_count=None, backup_size_bytes=None, start_time=None,
            end_time=None),
        now=NOW,
    )  # fmt: skip
    assert (record.name, record.totalCount, record.backupSizeBytes) == (None, None, None)
    assert (record.startTime, record.endTime, record.durationSeconds) == (None, None, None)
    assert record.statusName == "Not started"


def test_a_running_job_is_measured_up_to_now():
    start = NOW - timedelta(minutes=5, seconds=30, microseconds=1)
    assert v1_job(row(status=1, start_time=start, end_time=None), now=NOW).durationSeconds == 330


@pytest.mark.parametrize(
    ("micro", "text"),
    [(0, "16.000Z"), (800000, "16.800Z"), (123000, "16.123Z"), (123456, "16.123456Z"),
     (1, "16.000001Z")],
)  # fmt: skip
def test_times_keep_the_precision_stored(micro, text):
    value = datetime(2025, 9, 11, 3, 21, 16, micro, tzinfo=UTC)
    assert format_instant(value) == f"2025-09-11T03:21:{text}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2025, 9, 11, 5, 51, 16, 1000, tzinfo=timezone(timedelta(hours=2, minutes=30))),
         "2025-09-11T03:21:16.001Z"),
        (datetime(5, 1, 1, 23, 0, tzinfo=timezone(timedelta(hours=-3))), "0005-01-02T02:00:00.000Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59.999999Z"),
    ],
)  # fmt: skip
def test_times_in_any_zone_and_year_are_written_in_utc(value, text):
    assert format_instant(value) == text


def test_a_job_that_stopped_without_an_end_has_no_duration():
    assert duration_seconds(NOW, None, status=3, now=NOW) is None
    assert duration_seconds(NOW, NOW - timedelta(seconds=5), status=2, now=NOW) == 0


def test_every_field_comes_from_its_own_column():
    """The record is built by position: distinct values show any two fields swapped."""
    record = v1_job(
        row(total_count=1, failed_count=2, successful_count=3, skipped_count=4,
            warning_count=5, backup_size_bytes=6, status=4, job_type=11, job_module=501),
        now=NOW,
    )  # fmt: skip
    assert msgspec.structs.asdict(record) == {
        "jobId": "FB20250911032116214502",
        "customerId": CUSTOMER,
        "customerName": "Northwind Traders",
        "jobType": 11,
        "jobTypeName": "Google Workspace",
        "jobModule": 501,
        "jobModuleName": "Gmail",
        "status": 4,
        "statusName": "Finished with exception",
        "name": "Nightly groups",
        "totalCount": 1,
        "failedCount": 2,
        "successfulCount": 3,
        "skippedCount": 4,
        "warningCount": 5,
        "backupSizeBytes": 6,
        "startTime": "2025-09-11T03:21:16.800Z",
        "endTime": "2025-09-11T03:38:56.200Z",
        "durationSeconds": 1059,
        "lastModifyTime": "2025-09-11T03:38:57.000Z",
    }


@pytest.mark.parametrize("column", ["job_type", "job_module", "status"])
def test_a_code_the_catalog_does_not_have_is_an_error(column):
    with pytest.raises(UnknownCodeError):
        v1_job(row(**{column: 999}), now=NOW)


@given(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.sampled_from([1, 1000, 1_000_000]),
    st.integers(-15 * 60 - 59, 15 * 60 + 59),
)
def test_times_are_written_by_the_rule(moment, precision, offset_minutes):
    """``format_instant`` cuts msgspec's text: the rule it must keep, field by field."""
    utc = moment.replace(microsecond=moment.microsecond // precision * precision)
    value = utc.astimezone(timezone(timedelta(minutes=offset_minutes)))
    micro = utc.microsecond
    fraction = f"{micro:06d}" if micro % 1000 else f"{micro // 1000:03d}"
    assert format_instant(value) == (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{fraction}Z"
    )
