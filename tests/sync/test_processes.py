"""``backupjobs sync run`` and ``serve`` as processes: killed mid-run then run again with
no duplicate, two processes racing for one upstream, serve running it on its interval
with /metrics, and the secret in neither the database nor the output."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import LargeBinary, Text, cast, select

from backupjobs.store.database import Database
from backupjobs.store.schema import jobs, metadata
from tests.processes import cli_json, environment, running_server
from tests.sync.conftest import VendorTenant
from tests.sync.faults import FaultServer
from tests.world import job

#: Each test reads from a real upstream process (tests/sync/conftest.py).
pytestmark = pytest.mark.slow

JOBS = "/avpt-products/jobs/batch"


def local_env(database_url: str, **extra: str) -> dict[str, str]:
    # One customer at a time, each stored before the next is read: a kill falls between.
    return environment(
        database_url, BACKUPJOBS_SYNC_CONCURRENCY="1", BACKUPJOBS_SYNC_BATCH_ROWS="1", **extra
    )


def add_upstream(env: dict[str, str], vendor_tenant: VendorTenant, url: str, **extra: str) -> str:
    partner = cli_json(env, "partners", "create", "--name", "Mirror")["id"]
    flags = [arg for option, value in extra.items() for arg in (f"--{option}", value)]
    cli_json(
        env, "sync", "add", "--partner", partner, "--name", f"vendor-{partner[:8]}",
        "--base-url", url, "--token-url", f"{url}/connect/token",
        "--client-id", vendor_tenant.tenant.client_id,
        "--secret-file", str(vendor_tenant.secret_file), *flags,
    )  # fmt: skip
    return partner


async def sync_process(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backupjobs", "sync", "run", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def stored_job_ids(database_url: str, partner: str) -> list[str]:
    db = Database(database_url, pool_size=1)
    try:
        async with db.read() as connection:
            found = await connection.scalars(
                select(jobs.c.job_id).where(jobs.c.partner_id == UUID(partner))
            )
            return sorted(found.all())
    finally:
        await db.dispose()


async def test_killed_mid_run_then_run_again_with_no_duplicate_and_no_secret_anywhere(
    database_url: str, vendor_tenant: VendorTenant
) -> None:
    await vendor_tenant.ingest([job(c, f"K-{c.hex[:8]}") for c in vendor_tenant.customers])
    env = local_env(database_url)
    async with FaultServer(vendor_tenant.vendor.url, slow={JOBS: 0.7}) as faults:
        partner = add_upstream(env, vendor_tenant, faults.url)
        name = f"vendor-{partner[:8]}"
        doomed = await sync_process(env, "--once", "--upstream", name)
        # The second customer's read has begun: the first one's jobs are stored.
        await wait_for(lambda: sum(JOBS in path for path in faults.seen) >= 2)
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
        before = await stored_job_ids(database_url, partner)
        assert 1 <= len(before) < 3

        code, out, err = await finished(
            await sync_process(env, "--once", "--json", "--upstream", name)
        )
    assert code == 0, err
    (outcome,) = json.loads(out)["runs"]
    assert (outcome["status"], outcome["jobsNew"]) == ("succeeded", 3 - len(before))
    after = await stored_job_ids(database_url, partner)
    assert after == sorted(f"K-{c.hex[:8]}" for c in vendor_tenant.customers)

    shown = cli_json(env, "sync", "show", name, "--partner", partner)
    assert [run["status"] for run in shown["runs"]] == ["succeeded", "interrupted"]

    secret = vendor_tenant.tenant.secret
    assert secret not in out + err
    assert secret not in await every_stored_value(database_url)


async def every_stored_value(database_url: str) -> str:
    """Every row of every table, as the database's own text (not decoded into Python
    values: other tests of the session store times out of Python's range on purpose)."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.read() as connection:
            parts = []
            for table in metadata.sorted_tables:
                rows = await connection.execute(
                    select(
                        # Bytes as they are (a secret in clear would show in their repr).
                        *(
                            column if isinstance(column.type, LargeBinary) else cast(column, Text)
                            for column in table.columns
                        )
                    )
                )
                parts.extend(repr(tuple(row)) for row in rows)
            return "\n".join(parts)
    finally:
        await db.dispose()


async def test_two_processes_racing_for_one_upstream(
    database_url: str, vendor_tenant: VendorTenant
) -> None:
    await vendor_tenant.ingest([job(c, f"R-{c.hex[:8]}") for c in vendor_tenant.customers])
    env = local_env(database_url)
    async with FaultServer(vendor_tenant.vendor.url, slow={JOBS: 0.3}) as faults:
        partner = add_upstream(env, vendor_tenant, faults.url)
        name = f"vendor-{partner[:8]}"
        racers = [await sync_process(env, "--once", "--json", "--upstream", name) for _ in range(2)]
        results = [await finished(racer) for racer in racers]
    outcomes = [(json.loads(out)["runs"][0], code) for code, out, _ in results]
    statuses = sorted((outcome["status"], code) for outcome, code in outcomes)
    assert statuses == [("busy", 1), ("succeeded", 0)], results
    busy = next(outcome for outcome, _ in outcomes if outcome["status"] == "busy")
    assert busy["busy"] and busy["runId"] is None
    assert len(await stored_job_ids(database_url, partner)) == 3


async def test_serve_runs_the_upstream_on_its_interval_and_reports_it_in_metrics(
    vendor_tenant: VendorTenant, tmp_path: Path
) -> None:
    await vendor_tenant.ingest([job(c, f"S-{c.hex[:8]}") for c in vendor_tenant.customers])
    # A database of its own: serve runs every upstream of its database.
    env = local_env(f"sqlite:///{tmp_path / 'local.db'}")
    partner = add_upstream(env, vendor_tenant, vendor_tenant.vendor.url, interval="10s")
    last_run, metrics = await asyncio.to_thread(serve_until_synced, env, partner, tmp_path)
    assert last_run["jobsNew"] == 3
    mine = {"partner": partner, "upstream": f"vendor-{partner[:8]}"}
    samples = {
        (sample.name, sample.labels.get("status") or sample.labels.get("outcome")): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if {key: sample.labels.get(key) for key in mine} == mine
    }
    assert samples[("backupjobs_sync_runs_total", "succeeded")] >= 1
    assert samples[("backupjobs_sync_jobs_total", "new")] == 3
    assert samples[("backupjobs_sync_rows_read_total", None)] >= 3
    assert samples[("backupjobs_sync_errors_total", None)] == 0
    last_success = samples[("backupjobs_sync_last_success_timestamp_seconds", None)]
    assert abs(last_success - time.time()) < 120
    assert vendor_tenant.tenant.secret not in (tmp_path / "local.log").read_text()


def serve_until_synced(
    env: dict[str, str], partner: str, folder: Path
) -> tuple[dict[str, Any], str]:
    """Start serve, wait for its first run of the partner's upstream: that run, /metrics."""
    with running_server(env, folder / "local.log") as server:
        deadline = time.monotonic() + 60
        while True:
            status = cli_json(env, "sync", "status")["upstreams"]
            mine = next(row for row in status if row["partnerId"] == partner)
            if mine["lastRun"] and mine["lastRun"]["status"] == "succeeded":
                return mine["lastRun"], httpx.get(f"{server.url}/metrics").text
            assert time.monotonic() < deadline, status
            time.sleep(0.5)


async def test_sync_run_without_once_runs_on_the_interval_until_interrupted(
    vendor_tenant: VendorTenant, tmp_path: Path
) -> None:
    await vendor_tenant.ingest([job(c, f"L-{c.hex[:8]}") for c in vendor_tenant.customers])
    env = local_env(f"sqlite:///{tmp_path / 'local.db'}")
    partner = add_upstream(env, vendor_tenant, vendor_tenant.vendor.url, interval="10s")
    looping = await sync_process(env, "--upstream", f"vendor-{partner[:8]}")

    def ran() -> bool:
        (row,) = cli_json(env, "sync", "status")["upstreams"]
        return bool(row["lastRun"] and row["lastRun"]["status"] == "succeeded")

    deadline = time.monotonic() + 60
    while not await asyncio.to_thread(ran):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.5)
    looping.send_signal(signal.SIGINT)
    code, out, err = await finished(looping)
    assert code == 0, err
    assert f"vendor-{partner[:8]}: succeeded" in out
    assert "3 new" in out
