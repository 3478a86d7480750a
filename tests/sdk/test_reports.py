"""client.reports against a real server: typed history following cursors, services'
health, the summary's pages as one, days, an export written as it arrives; sync and async."""

import json
import uuid
from dataclasses import replace

import pytest

from backupjobs.sdk import HistoryJob, NotFoundError, ServiceHealth, Summary

pytestmark = pytest.mark.slow


def test_history_is_typed_and_follows_cursors(world):
    with world.client() as client:
        every = list(client.reports.history(page_size=2))
        failed = list(client.reports.history(status=["Failed", 7], customer_id=world.alpha))
    assert len(every) > 2 and all(isinstance(job, HistoryJob) for job in every)
    assert {job.customer_id for job in every} == {uuid.UUID(world.alpha), uuid.UUID(world.bravo)}
    starts = [job.start_time or job.last_modify_time for job in every]
    assert starts == sorted(starts, reverse=True)
    assert failed and all(job.status in (3, 7) for job in failed)
    assert every[0].start_time is None or every[0].start_time.tzinfo is not None


def test_services_summary_and_days(world):
    with world.client() as client:
        services = list(client.reports.services())
        summary = client.reports.summary(start="2025-01-01")
        days = list(client.reports.daily(start="2025-09-01", end="2025-09-15", tz="Europe/Berlin"))
    assert services and all(isinstance(s, ServiceHealth) for s in services)
    assert {s.health for s in services} <= {
        "failing", "stale", "warning", "waiting", "running", "never_run", "healthy"
    }  # fmt: skip
    assert isinstance(summary, Summary) and summary.totals.customers == 3
    assert [c.customer_name for c in summary.customers][-1] in {"Alpha", "Bravo", "Charlie"}
    assert len(days) == 3 * 14
    assert sum(day.jobs for day in days) > 0


def test_export_to_a_file_with_progress(world, tmp_path):
    seen = []
    with world.client() as client:
        rows = client.reports.export(
            tmp_path / "jobs.ndjson", format="ndjson", progress=lambda r, b: seen.append((r, b))
        )
        history = list(client.reports.history())
        with pytest.raises(NotFoundError):
            client.reports.export(tmp_path / "x.csv", customer_id=world.stranger)
    lines = (tmp_path / "jobs.ndjson").read_text().splitlines()
    assert rows == len(lines) == len(history)
    assert [json.loads(line)["jobId"] for line in lines] == [job.job_id for job in history]
    assert seen[-1][0] == rows and seen[-1][1] == (tmp_path / "jobs.ndjson").stat().st_size


async def test_the_async_client_has_the_same_reports(world, tmp_path):
    async with world.async_client() as client:
        history = [job async for job in client.reports.history(page_size=3)]
        services = [s async for s in client.reports.services(health="never_run")]
        summary = await client.reports.summary(start="2025-01-01")
        rows = await client.reports.export(tmp_path / "jobs.csv")
    with world.client() as client:
        # A running job's duration is counted to each answer's moment: compare without it.
        assert _settled(history) == _settled(client.reports.history())
    assert services and {s.health for s in services} == {"never_run"}
    assert summary.totals.jobs >= len(history) - 1
    assert rows == len(history)
    assert (tmp_path / "jobs.csv").read_text().startswith("jobId,customerId,")


def _settled(jobs):
    return [replace(job, duration_seconds=None) if job.status == 1 else job for job in jobs]
