import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


_RECORD = (
    f'"jobId": "a", "customerId": "{SEED_CUSTOMER}", "jobType": 7, "jobModule": 302, '
    '"status": 1, "lastModifyTime": "2025-09-11T03:38:57Z"'
)


@pytest.mark.parametrize(
    "extra",
    [
        ', "status": 2',
        ', "status": "Failed"',
        ', "name": "x", "name": null',
        ', "name": null, "name": "x"',
        ', "name": null, "name": null',
        ', "endTime": null, "endTime": "2025-09-11T04:00:00Z"',
        ', "totalCount": 3, "totalCount": 4',
        ', "jobId": "b"',
        ', "customerId": "' + SEED_CUSTOMER + '"',
    ],
)
def test_a_key_given_twice_is_refused_whatever_its_values(extra):
    with pytest.raises(RecordError, match="given more than once"):
        parse_record(msgspec.Raw(("{" + _RECORD + extra + "}").encode()))


@pytest.mark.parametrize(
    "record",
    [
        _RECORD,
        _RECORD + ', "name": null',
        _RECORD + ', "name": "x", "totalCount": null',
        _RECORD.replace('"status": 1', '"status": "Failed"'),
        _RECORD + ', "endTime": null, "startTime": null, "warningCount": 0',
    ],
)
def test_keys_given_once_pass_with_nulls_and_codes_by_name(record):
    assert parse_record(msgspec.Raw(("{" + record + "}").encode())).job_id == "a"


_OPTIONAL = {
    "name": '"nightly"',
    "totalCount": "10",
    "failedCount": "0",
    "backupSizeBytes": "1024",
    "startTime": '"2025-09-11T03:00:00Z"',
    "endTime": '"2025-09-11T05:30:00+01:00"',
}


@given(
    fields=st.lists(
        st.tuples(st.sampled_from(sorted(_OPTIONAL)), st.booleans()), unique_by=lambda f: f[0]
    ),
    twice=st.one_of(st.none(), st.tuples(st.integers(0, 20), st.booleans())),
)
def test_a_key_given_twice_is_refused_and_only_then(fields, twice):
    """Whatever the fields present, null or not, and whichever key comes again."""
    members = [f'"{name}": {_OPTIONAL[name] if set_ else "null"}' for name, set_ in fields]
    members = _RECORD.split(", ") + members
    if twice is not None:
        position, null = twice
        name = members[position % len(members)].split(":")[0]
        value = "null" if null else members[position % len(members)].split(": ", 1)[1]
        members.append(f"{name}: {value}")
    text = "{" + ", ".join(members) + "}"
    if twice is None:
        parse_record(msgspec.Raw(text.encode()))
    else:
        with pytest.raises(RecordError):
            parse_record(msgspec.Raw(text.encode()))
