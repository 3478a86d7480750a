import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from backupjobs.model import ServiceState
from backupjobs.wire import modern_job_row, v3_job_row

NOW = datetime(2025, 9, 12, tzinfo=UTC)


SEED_JOB = ServiceState(
    job_type=7,
    job_module=304,
    job_id="FB20250911032116214502",
    status=3,
    total_count=2323,
    failed_count=0,
    successful_count=2323,
    skipped_count=0,
    warning_count=0,
    backup_size_bytes=0,
    start_time=datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=UTC),
    end_time=datetime(2025, 9, 11, 3, 38, 56, 200000, tzinfo=UTC),
    last_modify_time=datetime(2025, 9, 11, 3, 38, 57, tzinfo=UTC),
)


def seed_job(**changes):
    """The seed sample's job, with ``changes``."""
    return msgspec.structs.replace(SEED_JOB, **changes)


SEED_V3_ROW = (
    b'{"jobType":7,"jobModule":304,"status":3,"jobId":"FB20250911032116214502","name":"N/A",'
    b'"totalCount":"2323","failedCount":"0","successfulCount":"2323","skippedCount":"0",'
    b'"warningCount":"0","backupSize":"0 GB","startTime":"2025-09-11T03:21:16Z",'
    b'"endTime":"2025-09-11T03:38:56Z","jobDuration":"17m39s","lastModifyTime":"2025-09-11T03:38:57Z"}'
)


def test_v3_row_is_the_seed_sample_byte_for_byte():
    assert msgspec.json.encode(v3_job_row(seed_job(), NOW)) == SEED_V3_ROW


def test_v3_placeholder_row():
    row = msgspec.to_builtins(v3_job_row(seed_job(job_id=None, status=None, job_module=302), NOW))
    assert row == {
        "jobType": 7, "jobModule": 302, "status": 0, "jobId": "N/A", "name": "N/A",
        "totalCount": "0", "failedCount": "0", "successfulCount": "0", "skippedCount": "0",
        "warningCount": "0", "backupSize": "0 GB", "startTime": "N/A", "endTime": "N/A",
        "jobDuration": "N/A", "lastModifyTime": "N/A",
    }  # fmt: skip


def test_modern_placeholder_row_is_the_seed_sample():
    row = msgspec.to_builtins(
        modern_job_row(seed_job(job_id=None, status=None, job_module=302), NOW)
    )
    assert row == {
        "jobType": "Microsoft 365", "jobModule": "SharePoint Online", "status": "Not Finished",
        "jobId": "N/A", "name": "N/A", "totalCount": "0", "failedCount": "0",
        "successfulCount": "0", "skippedCount": "0", "warningCount": "0", "backupSize": "0 GB",
        "startTime": "N/A", "endTime": "N/A", "jobDuration": "N/A", "lastModifyTime": "N/A",
    }  # fmt: skip


def test_modern_row_writes_names_and_only_strings():
    row = msgspec.to_builtins(modern_job_row(seed_job(status=4, name="Nightly"), NOW))
    assert row["jobType"] == "Microsoft 365"
    assert row["jobModule"] == "Microsoft 365 Groups"
    assert row["status"] == "Finished with exception"
    assert row["name"] == "Nightly"
    assert all(isinstance(value, str) for value in row.values())


def test_counts_missing_from_a_job_are_zero():
    row = v3_job_row(seed_job(total_count=None, backup_size_bytes=None), NOW)
    assert row.totalCount == "0"
    assert row.backupSize == "0 GB"


def test_modern_seed_sample_is_what_the_placeholder_renders():
    """The Modern seed's response sample, comments stripped, equals our placeholder row."""
    text = (Path(__file__).resolve().parents[1] / "seeds" / "001_91fa0af0a3e5788d.txt").read_text()
    sample = text[text.rindex("```json") + len("```json") : text.rindex("```")]
    sample = re.sub(r"\s+//[^\n]*", "", sample)  # comments, not the "https://"
    row = msgspec.json.decode(sample)["value"][0]
    assert row == msgspec.to_builtins(
        modern_job_row(seed_job(job_id=None, status=None, job_module=302), NOW)
    )


def test_encoded_rows_are_the_rows_and_a_running_job_keeps_counting():
    running = seed_job(job_id="RUN1", status=1, end_time=None)
    page = [seed_job(), running, seed_job(job_id=None, status=None, job_module=302)]
    later = NOW + timedelta(minutes=5, seconds=3)
    for row_of in (v3_job_row, modern_job_row):
        for now in (NOW, later, NOW, later):  # remembered rows, asked again
            assert msgspec.json.decode(row_of.encoded(page, now)) == [
                msgspec.to_builtins(row_of(state, now)) for state in page
            ]
    first, second = (
        msgspec.json.decode(v3_job_row.encoded(page, now))[1]["jobDuration"] for now in (NOW, later)
    )
    assert (first, second) == ("20h38m43s", "20h43m46s")


def test_a_recurring_page_is_remembered_whole_until_it_changes():
    page = [seed_job(), seed_job(job_module=302)]
    first = v3_job_row.encoded(page, NOW, recurring=True)
    assert v3_job_row.encoded(page, NOW, recurring=True) is first
    changed = [seed_job(), seed_job(job_module=302, status=2)]
    assert msgspec.json.decode(v3_job_row.encoded(changed, NOW, recurring=True))[1]["status"] == 2
    running = [seed_job(), seed_job(job_module=302, status=1, end_time=None)]
    durations = {
        msgspec.json.decode(v3_job_row.encoded(running, now, recurring=True))[1]["jobDuration"]
        for now in (NOW, NOW + timedelta(seconds=1))
    }
    assert len(durations) == 2  # a running job's duration is written anew on every page


def test_a_recurring_page_with_running_jobs_is_the_rows_byte_for_byte_at_any_time():
    running = seed_job(job_id="RUN1", status=1, end_time=None, name='x","jobDuration":"1s')
    page = [
        running,
        seed_job(job_module=302),
        seed_job(job_id="RUN2", job_module=303, status=1, end_time=None),
        seed_job(job_id=None, status=None, job_module=305),
    ]
    for row_of in (v3_job_row, modern_job_row):
        for now in (NOW, NOW + timedelta(seconds=1), NOW + timedelta(days=2, minutes=1)):
            expected = b"[" + b",".join(msgspec.json.encode(row_of(s, now)) for s in page) + b"]"
            assert bytes(row_of.encoded(page, now, recurring=True)) == expected
