import re
from pathlib import Path

import msgspec

from backupjobs.wire import modern_job_row, v3_job_row
from tests.jobs import NOW, seed_job

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
