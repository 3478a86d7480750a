"""Upstream rows back into records: the wire formats read by the SDK, the record checks
of ingestion, and what cannot be a record named."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from backupjobs.model import DEFAULT_MANAGEMENT_MODE, RecordError, Tenant
from backupjobs.sdk import Coded, Customer
from backupjobs.sdk import Tenant as RowTenant
from backupjobs.sdk.parsing import parse_job
from backupjobs.sync.rows import customer_profile, job_record, service_key
from backupjobs.sync.runner import SyncOptions

CUSTOMER = uuid4()


def v3_row(**changes):
    """A v3 job row as the vendor answers it (docs/vendor-endpoints.md)."""
    row = {
        "jobType": 7, "jobModule": 304, "status": 2, "jobId": "FB20250911032116214502",
        "name": "Nightly", "totalCount": "2323", "failedCount": "0",
        "successfulCount": "2323", "skippedCount": "0", "warningCount": "0",
        "backupSize": "1.5 GB", "startTime": "2025-09-11T03:21:16Z",
        "endTime": "2025-09-11T03:38:55Z", "jobDuration": "17m39s",
        "lastModifyTime": "2025-09-11T03:38:57Z",
    }  # fmt: skip
    row.update(changes)
    return parse_job(row, str(CUSTOMER))


def test_a_vendor_row_becomes_the_record_it_was_made_from():
    record = job_record(v3_row())
    assert record.customer_id == CUSTOMER
    assert (record.job_type, record.job_module, record.status) == (7, 304, 2)
    assert record.backup_size_bytes == 1610612736  # the vendor's rounded 1.5 GB
    assert record.total_count == 2323
    assert record.start_time == datetime(2025, 9, 11, 3, 21, 16, tzinfo=UTC)
    assert record.last_modify_time == datetime(2025, 9, 11, 3, 38, 57, tzinfo=UTC)
    assert record.end_time - record.start_time == v3_row().duration


def test_a_running_job_has_no_end_and_na_values_are_absent():
    record = job_record(v3_row(status=1, endTime="N/A", backupSize="N/A", name="N/A"))
    assert (record.end_time, record.backup_size_bytes, record.name) == (None, None, None)


def test_a_placeholder_row_names_its_service_and_is_no_record():
    placeholder = v3_row(jobId="N/A", status=0, startTime="N/A", lastModifyTime="N/A")
    assert service_key(placeholder) == (7, 304)
    with pytest.raises(RecordError, match="no job"):
        job_record(placeholder)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lastModifyTime": "N/A"}, "lastModifyTime is required"),
        ({"jobType": 99}, "unknown jobType 99"),
        ({"status": 42}, "unknown status 42"),
        ({"startTime": "2025-09-12T00:00:00Z"}, "endTime is before startTime"),
    ],
)
def test_a_row_that_is_not_a_valid_record_is_named(changes, message):
    with pytest.raises(RecordError, match=f"job FB20250911032116214502: .*{message}"):
        job_record(v3_row(**changes))


def test_an_unknown_service_is_named():
    with pytest.raises(RecordError, match="unknown backup service"):
        service_key(v3_row(jobModule=9999))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"page_size": 101}, "page size must be 1 to 100"),
        ({"timeout": 0}, "timeout must be a number of seconds above 0"),
    ],
)
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        SyncOptions(**options)


def test_a_customer_row_without_mode_or_tenants_has_the_default_profile():
    modern = Customer(str(CUSTOMER), "Contoso", None, None, None)
    profile = customer_profile(modern)
    assert (profile.owner_email, profile.country_or_region, profile.tenants) == ("", "", ())
    assert profile.management_mode == DEFAULT_MANAGEMENT_MODE
    v3 = Customer(
        str(CUSTOMER), "Contoso", "it@contoso.example", None, "Norway",
        Coded(1, "Partner management of tenant"), (RowTenant("t1", None),),
    )  # fmt: skip
    assert customer_profile(v3).management_mode == 1
    assert customer_profile(v3).tenants == (Tenant("t1", ""),)
