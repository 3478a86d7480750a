import msgspec
import pytest

from backupjobs.model import RecordError, parse_record, record_job_id
from tests.world import SEED_CUSTOMER, job


def raw(value) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(value))


def test_the_spec_sample_record_parses():
    record = parse_record(raw(job(SEED_CUSTOMER, "FB20250911032116214502")))
    assert record.job_id == "FB20250911032116214502"
    assert record.backup_size_bytes == 1073741824


def test_optional_fields_may_be_absent_or_null():
    record = parse_record(
        raw({"jobId": "a", "customerId": SEED_CUSTOMER, "jobType": 7, "jobModule": 302, "status": 1,
             "lastModifyTime": "2025-09-11T03:38:57+02:00", "endTime": None, "name": None})
    )  # fmt: skip
    assert record.end_time is None and record.total_count is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobId": None}, "jobId"),
        ({"jobId": ""}, "jobId"),
        ({"jobId": "   "}, "jobId must not be blank"),
        ({"customerId": "not-a-uuid"}, "customerId"),
        ({"jobType": 99}, "unknown jobType 99"),
        ({"jobModule": 999}, "unknown jobModule 999"),
        ({"status": 15}, "unknown status 15"),
        ({"jobType": "Microsoft 366"}, "unknown jobType 'Microsoft 366'"),
        ({"jobModule": "Archiver"}, "ambiguous jobModule 'Archiver'"),
        ({"jobType": [7]}, "jobType"),
        ({"backupSize": 5}, "unknown field 'backupSize' \\(did you mean backupSizeBytes\\?\\)"),
        ({"jobType": True}, "jobType"),
        ({"totalCount": -1}, "totalCount"),
        ({"backupSizeBytes": 1.5}, "backupSizeBytes"),
        ({"startTime": "2025-09-11T03:21:16"}, "startTime"),
        ({"lastModifyTime": "yesterday"}, "lastModifyTime"),
        ({"endTime": "2025-09-11T03:00:00Z"}, "endTime is before startTime"),
        ({"jobId": "x" * 129}, "jobId"),
    ],
)
def test_bad_records_name_the_field(change, message):
    with pytest.raises(RecordError, match=message):
        parse_record(raw(job(SEED_CUSTOMER, "J1", **change)))


@pytest.mark.parametrize(
    "field", ["jobId", "customerId", "jobType", "jobModule", "status", "lastModifyTime"]
)
def test_required_fields(field):
    record = job(SEED_CUSTOMER, "J1")
    del record[field]
    with pytest.raises(RecordError, match=f"{field} is required"):
        parse_record(raw(record))


def test_a_record_that_is_not_an_object_is_rejected():
    with pytest.raises(RecordError, match="object"):
        parse_record(raw([1, 2]))


def test_job_id_is_reported_when_readable():
    assert record_job_id(raw({"jobId": "abc"})) == "abc"
    assert record_job_id(raw({"jobId": 5})) is None
    assert record_job_id(raw("x")) is None


def test_codes_are_taken_by_number_or_catalog_name():
    record = parse_record(
        raw(job(SEED_CUSTOMER, "J1", jobType="7", jobModule="SharePoint%20Online", status="failed"))
    )
    assert (record.job_type, record.job_module, record.status) == (7, 302, 3)
