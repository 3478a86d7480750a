"""/metrics shows every sync run recorded in the database, whichever process ran it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from prometheus_client.parser import text_string_to_metric_families

from backupjobs.store.database import Database
from backupjobs.store.upstreams import (
    FAILED,
    SUCCEEDED,
    RunCounts,
    Upstream,
    add_upstream,
    record_progress,
    remove_upstream,
    start_run,
)
from tests.world import make_tenant


def samples(text: str, partner: UUID) -> dict[tuple[str, str | None], float]:
    """The partner's sync samples by (name, status or outcome)."""
    return {
        (sample.name, sample.labels.get("status") or sample.labels.get("outcome")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("backupjobs_sync_")
        and sample.labels.get("partner") == str(partner)
    }


async def record_run(
    db: Database,
    upstream: Upstream,
    started: datetime,
    counts: RunCounts,
    status: str | None,
) -> None:
    """A run as ``backupjobs sync run`` records it in its own process (None: still running)."""
    async with db.write() as connection:
        run_id = await start_run(connection, upstream, now=started)
        if status is None:
            await record_progress(connection, upstream.partner_id, run_id, counts)
        else:
            await record_progress(
                connection,
                upstream.partner_id,
                run_id,
                counts,
                status=status,
                ended_at=started + timedelta(minutes=1),
            )


async def test_metrics_count_the_runs_recorded_by_every_process(
    client: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db, customers=1)
    now = datetime.now(UTC).replace(microsecond=0)
    upstream = Upstream(
        partner_id=tenant.partner_id,
        name="elsewhere",
        base_url="https://vendor.example",
        token_url="https://vendor.example/token",
        client_id="client",
        secret_file="/nonexistent/secret",
        cert_file=None,
        key_file=None,
        interval_seconds=900,
        created_at=now,
    )
    async with db.write() as connection:
        await add_upstream(connection, upstream)
    # Runs this application's process never saw (another process recorded them, each as
    # it started: before this application read any run of this upstream).
    await record_run(db, upstream, now - timedelta(hours=3), RunCounts(1, 10, 4, 1, 0), SUCCEEDED)
    await record_run(db, upstream, now - timedelta(hours=2), RunCounts(1, 7, 2, 0, 1), FAILED)
    await record_run(db, upstream, now - timedelta(hours=1), RunCounts(1, 5, 3, 2, 0), SUCCEEDED)
    found = samples((await client.get("/metrics")).text, tenant.partner_id)
    # Runs over an hour old are final: added up once, the same at every scrape.
    assert samples((await client.get("/metrics")).text, tenant.partner_id) == found
    assert found == {
        ("backupjobs_sync_runs_total", SUCCEEDED): 2,
        ("backupjobs_sync_runs_total", FAILED): 1,
        ("backupjobs_sync_rows_read_total", None): 22,
        ("backupjobs_sync_jobs_total", "new"): 9,
        ("backupjobs_sync_jobs_total", "updated"): 3,
        ("backupjobs_sync_errors_total", None): 1,
        ("backupjobs_sync_last_success_timestamp_seconds", None): (
            now - timedelta(hours=1) + timedelta(minutes=1)
        ).timestamp(),
    }

    # A run in progress counts what it has read so far, not as a run ended.
    await record_run(db, upstream, now, RunCounts(1, 4, 1, 0, 0), None)
    found = samples((await client.get("/metrics")).text, tenant.partner_id)
    assert found[("backupjobs_sync_rows_read_total", None)] == 26
    assert found[("backupjobs_sync_jobs_total", "new")] == 10
    assert ("backupjobs_sync_runs_total", "running") not in found
    assert found[("backupjobs_sync_runs_total", SUCCEEDED)] == 2

    again = samples((await client.get("/metrics")).text, tenant.partner_id)
    assert again == found

    # The run ends; another, an hour later, succeeds.
    await record_run(db, upstream, now + timedelta(hours=1), RunCounts(1, 6, 0, 0, 0), SUCCEEDED)
    found = samples((await client.get("/metrics")).text, tenant.partner_id)
    assert found[("backupjobs_sync_runs_total", "interrupted")] == 1  # its process died
    assert found[("backupjobs_sync_runs_total", SUCCEEDED)] == 3
    assert found[("backupjobs_sync_rows_read_total", None)] == 32
    assert (
        found[("backupjobs_sync_last_success_timestamp_seconds", None)]
        == (now + timedelta(hours=1, minutes=1)).timestamp()
    )

    # A removed upstream's runs go with it, and so do its series.
    async with db.write() as connection:
        await remove_upstream(connection, upstream)
    assert samples((await client.get("/metrics")).text, tenant.partner_id) == {}
