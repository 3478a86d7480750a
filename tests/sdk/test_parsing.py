"""Reading the wire strings: sizes, durations, times, counts, codes; and what is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupjobs.sdk import Coded, Customer, Tenant, WireFormatError
from backupjobs.sdk.parsing import (
    parse_count,
    parse_customer,
    parse_duration,
    parse_job,
    parse_rows,
    parse_size,
    parse_time,
)
from backupjobs.wire import format_seconds, format_size, format_time

GB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 GB", 0),
        ("512 MB", 512 * 1024**2),
        ("1.5 GB", 3 * GB // 2),
        ("2.25 TB", 9 * 1024**4 // 4),
        ("1000 B", 1000),
        ("1.33 GB", 1_428_076_626),
        ("1.5gb", 3 * GB // 2),
        ("N/A", None),
    ],
)
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17m39s", timedelta(minutes=17, seconds=39)),
        ("2h0m5s", timedelta(hours=2, seconds=5)),
        ("1d0h0m3s", timedelta(days=1, seconds=3)),
        ("45s", timedelta(seconds=45)),
        ("0s", timedelta(0)),
        ("N/A", None),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


def test_times_are_utc():
    assert parse_time("2025-09-11T03:21:16Z") == datetime(2025, 9, 11, 3, 21, 16, tzinfo=UTC)
    east = parse_time("2025-09-11T05:21:16+02:00")
    assert east == datetime(2025, 9, 11, 3, 21, 16, tzinfo=UTC)
    assert east.tzinfo is UTC
    assert parse_time("N/A") is None


@pytest.mark.parametrize(
    ("parser", "value", "field"),
    [
        (parse_size, "1.5 XB", "backupSize"),
        (parse_size, "GB", "backupSize"),
        (parse_size, 1024, "backupSize"),
        (parse_duration, "2 hours", "jobDuration"),
        (parse_duration, "s", "jobDuration"),
        (parse_time, "2025-09-11T03:21:16", "startTime"),  # no offset: which zone?
        (parse_time, "yesterday", "startTime"),
        (parse_count, "-1", "totalCount"),
        (parse_count, "1.5", "totalCount"),
        (parse_count, True, "totalCount"),
    ],
)
def test_a_value_off_the_format_is_named(parser, value, field):
    with pytest.raises(WireFormatError) as error:
        parser(value, field)
    assert error.value.field == field
    assert error.value.value == value
    assert field in str(error.value)


@given(st.integers(min_value=0, max_value=2**50))
def test_every_written_size_reads_back_as_written(size_bytes):
    text = format_size(size_bytes)
    read = parse_size(text)
    assert format_size(read) == text
    # Within the rounding of two decimals of the unit written.
    unit = 1024 ** ["B", "KB", "MB", "GB", "TB"].index(text.split()[1])
    assert abs(read - size_bytes) <= 0.005 * unit + 0.5


@given(st.integers(min_value=0, max_value=10**8))
def test_every_written_duration_reads_back_exactly(seconds):
    assert parse_duration(format_seconds(seconds)) == timedelta(seconds=seconds)


@given(st.datetimes(timezones=st.just(UTC)))
def test_every_written_time_reads_back_to_the_second(moment):
    assert parse_time(format_time(moment)) == moment.replace(microsecond=0)


def row(**changes):
    base = {
        "jobType": 7, "jobModule": 304, "status": 3, "jobId": "FB20250911032116214502",
        "name": "N/A", "totalCount": "2323", "failedCount": "0", "successfulCount": "2323",
        "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
        "startTime": "2025-09-11T03:21:16Z", "endTime": "2025-09-11T03:38:56Z",
        "jobDuration": "17m39s", "lastModifyTime": "2025-09-11T03:38:57Z",
    }  # fmt: skip
    base.update(changes)
    return base


def test_the_seed_rows_of_both_generations_read_the_same():
    v3 = parse_job(row(), "c")
    modern = parse_job(
        row(jobType="Microsoft 365", jobModule="Microsoft 365 Groups", status="Failed"), "c"
    )
    assert v3 == modern
    assert v3.job_type == Coded(7, "Microsoft 365")
    assert v3.status == Coded(3, "Failed")
    assert v3.name is None
    assert v3.total_count == 2323
    assert v3.duration == timedelta(minutes=17, seconds=39)
    assert v3.has_run


def test_codes_and_names_the_catalog_does_not_know_are_kept():
    newer = parse_job(row(jobModule=372, status="Quarantined"), "c")
    assert newer.job_module == Coded(372, "372")
    assert newer.status == Coded(None, "Quarantined")
    modern = parse_job(row(jobType="microsoft 365", status="Finished with exception"), "c")
    assert modern.job_type == Coded(7, "Microsoft 365")
    assert modern.status == Coded(4, "Finished with exception")
    assert parse_job(row(status="FinishedWithException"), "c").status.code == 4
    assert parse_job(row(jobType="7"), "c").job_type == Coded(7, "Microsoft 365")


def test_the_placeholder_reads_as_never_run():
    placeholder = {
        "jobType": "Microsoft 365", "jobModule": "SharePoint Online", "status": "Not Finished",
        "jobId": "N/A", "name": "N/A", "totalCount": "0", "failedCount": "0",
        "successfulCount": "0", "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
        "startTime": "N/A", "endTime": "N/A", "jobDuration": "N/A", "lastModifyTime": "N/A",
    }  # fmt: skip
    job = parse_job(placeholder, "c")
    assert not job.has_run
    assert job.status == Coded(0, "Not Finished")
    assert (job.start_time, job.duration, job.backup_size, job.total_count) == (None, None, 0, 0)


def test_a_row_without_its_codes_is_refused_and_other_members_read_as_missing():
    with pytest.raises(WireFormatError, match="jobType"):
        parse_job({k: v for k, v in row().items() if k != "jobType"}, "c")
    with pytest.raises(WireFormatError, match="status"):
        parse_job(row(status=None), "c")
    with pytest.raises(WireFormatError, match="row"):
        parse_job(["not", "an", "object"], "c")
    sparse = parse_job({"jobType": 7, "jobModule": 302, "status": 2}, "c")
    assert (sparse.job_id, sparse.backup_size, sparse.start_time) == (None, None, None)


#: The vendor's published customer rows (SPEC §5 "Customers"), v3 and Modern.
VENDOR_V3_CUSTOMER = {
    "id": "03f7382e-5b4c-4d2a-9d7e-0a1b2c3d4e5f", "organization": "OrganizationABC",
    "ownerEmail": "user@domain.com", "jobStatus": 0, "countryOrRegion": "Afghanistan",
    "managementMode": 1,
    "tenants": [{"id": "03f7382e-5b4c-4d2a-9d7e-0a1b2c3d4e5f", "name": "Tenant ABC"}],
}  # fmt: skip
VENDOR_MODERN_CUSTOMER = {
    "id": "03f7382e-5b4c-4d2a-9d7e-0a1b2c3d4e5f", "organization": "OrganizationABC",
    "ownerEmail": "user@domain.com", "jobStatus": "Multiple issues found",
    "countryOrRegion": "Afghanistan",
}  # fmt: skip


def test_customer_rows_of_both_generations():
    v3 = parse_customer(VENDOR_V3_CUSTOMER)
    assert v3 == Customer(
        id="03f7382e-5b4c-4d2a-9d7e-0a1b2c3d4e5f",
        organization="OrganizationABC",
        owner_email="user@domain.com",
        job_status=Coded(0, "N/A"),
        country_or_region="Afghanistan",
        management_mode=Coded(1, "Partner management of tenant"),
        tenants=(Tenant("03f7382e-5b4c-4d2a-9d7e-0a1b2c3d4e5f", "Tenant ABC"),),
    )
    assert v3.name == "OrganizationABC"
    modern = parse_customer(VENDOR_MODERN_CUSTOMER)
    assert modern.job_status == Coded(4, "Multiple issues found")
    assert (modern.management_mode, modern.tenants) == (None, None)
    unknown = parse_customer({**VENDOR_V3_CUSTOMER, "ownerEmail": "", "countryOrRegion": "",
                              "tenants": []})  # fmt: skip
    assert (unknown.owner_email, unknown.country_or_region, unknown.tenants) == (None, None, ())
    # A health this SDK's catalog does not know is kept, as job codes are.
    assert parse_customer({**VENDOR_V3_CUSTOMER, "jobStatus": 9}).job_status == Coded(9, "9")


def test_customer_rows_that_are_not_the_format():
    with pytest.raises(WireFormatError, match="id"):
        parse_customer({"organization": "Northwind"})
    for member, value in (("tenants", "x"), ("tenants", [{"name": "no id"}]),
                          ("jobStatus", True), ("managementMode", ""),
                          ("organization", 5)):  # fmt: skip
        with pytest.raises(WireFormatError, match=member.split(".")[0]):
            parse_customer({**VENDOR_V3_CUSTOMER, member: value})


def test_envelopes():
    with pytest.raises(WireFormatError, match="value"):
        parse_rows({"value": {}}, "value")
    with pytest.raises(WireFormatError, match="data"):
        parse_rows([], "data")
