"""Synced jobs go through ingestion whole: a failed job read from the upstream is a
webhook event here, as one posted by an engine would be."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar

from backupjobs.store import upstreams
from backupjobs.sync import SyncOptions, run_upstream
from tests.alerts.hooks import received, subscribe
from tests.receiver import receiving
from tests.sync.conftest import VendorTenant
from tests.world import job, make_tenant

#: It reads from a real upstream process (tests/sync/conftest.py).
pytestmark = pytest.mark.slow


async def test_a_failed_job_read_upstream_is_delivered_as_an_alert(
    alerts_app: Litestar, alerts_client: Any, vendor_tenant: VendorTenant
) -> None:
    context = alerts_app.state.context
    alpha = vendor_tenant.customers[0]
    await vendor_tenant.ingest([job(alpha, "UP-FAILED", status=3, failedCount=5)])
    local = await make_tenant(context.db, customers=0)
    upstream = vendor_tenant.upstream(local.partner_id)
    async with context.db.write() as connection:
        await upstreams.add_upstream(connection, upstream)
    with receiving() as receiver:
        await subscribe(alerts_client, local, receiver.url, ["job.failed"])
        outcome = await run_upstream(context.db, context.ingestor, upstream, SyncOptions())
        assert outcome.status == "succeeded"
        (delivery,) = await received(receiver, 1)
    event = json.loads(delivery.body)
    assert event["type"] == "job.failed"
    assert event["data"]["customer"] == {"id": str(alpha), "name": "Alpha"}
    assert event["data"]["job"]["jobId"] == "UP-FAILED"
