"""The demo data set: a partner, its customers and weeks of jobs, and an app to read them."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from sqlalchemy import select

from backupjobs.auth import apps as app_registry
from backupjobs.auth.permissions import ALL_PERMISSIONS
from backupjobs.auth.tokens import Principal
from backupjobs.catalog import FAILED, FINISHED_WITH_EXCEPTION, RUNNING
from backupjobs.cli.common import console
from backupjobs.model import JobRecord
from backupjobs.provisioning import provision
from backupjobs.settings import Settings
from backupjobs.simulation import partner_plan, service_runs, simulated_customer
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import apps, customers, partners

DEMO_PARTNER = "Demo MSP"
DEMO_APP = "Demo app"
_CUSTOMERS = 6
_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    partner_id: UUID
    client_id: str
    client_secret: str
    customer_ids: tuple[UUID, ...]


async def seed_demo(config: Settings, *, days: int, now: datetime) -> DemoCredentials:
    """Create the demo data once; later runs reuse it and issue a fresh secret."""
    db = Database(config.database_url, pool_size=2)
    try:
        await db.migrate()
        async with db.write() as connection:
            existing = (
                await connection.execute(
                    select(apps.c.partner_id, apps.c.client_id)
                    .join(partners, partners.c.id == apps.c.partner_id)
                    .where(partners.c.name == DEMO_PARTNER, apps.c.name == DEMO_APP)
                )
            ).first()
            if existing is not None:
                secret = await app_registry.add_secret(
                    connection, existing.client_id, years=1, now=now
                )
                ids = (
                    await connection.scalars(
                        select(customers.c.id)
                        .where(customers.c.partner_id == existing.partner_id)
                        .order_by(customers.c.name)
                    )
                ).all()
                return DemoCredentials(
                    existing.partner_id, existing.client_id, secret.value, tuple(ids)
                )
        return await _create(db, days=days, now=now)
    finally:
        await db.dispose()


async def _create(db: Database, *, days: int, now: datetime) -> DemoCredentials:
    rng = random.Random(2025)
    tenants = [simulated_customer(rng, index) for index in range(_CUSTOMERS)]
    # Whatever the dice say, the demo shows each state a partner has to notice.
    never_run = next(s for s in ((7, 310), (7, 311), (7, 312)) if s not in tenants[3].services)
    tenants[3] = replace(tenants[3], never_run=(*tenants[3].never_run, never_run))
    last_status = {(0, 0): RUNNING, (1, 0): FAILED, (2, 1): FINISHED_WITH_EXCEPTION, (4, 0): FAILED}
    made = await provision(db, partner_plan(DEMO_PARTNER, tenants, DEMO_APP), now=now)
    scope = Principal(made.app.client_id, made.partner_id, ALL_PERMISSIONS).tenant_scope
    records: list[JobRecord] = []
    for number, tenant in enumerate(tenants):
        for position, service in enumerate(tenant.services):
            records += service_runs(
                rng,
                tenant,
                service,
                days=days,
                now=now,
                job_prefix="FB",
                last_status=last_status.get((number, position)),
            )
    ingestor = Ingestor(db)
    for start in range(0, len(records), _BATCH):
        chunk = list(enumerate(records[start : start + _BATCH]))
        async with db.write() as connection:
            await ingestor.ingest(connection, scope, chunk, now=now)
    return DemoCredentials(
        made.partner_id, made.app.client_id, made.app.secret.value, made.customer_ids
    )


def print_walkthrough(config: Settings, credentials: DemoCredentials) -> None:
    """The credentials and copy-paste requests, unwrapped so that they paste whole."""
    base = config.public_url
    customer = credentials.customer_ids[0]
    token = (
        f"curl -s {base}/connect/token -d grant_type=client_credentials "
        f"-d client_id={credentials.client_id} -d client_secret={credentials.client_secret}"
    )
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    lines = [
        "",
        "backupjobs demo: a partner with customers and weeks of backup jobs.",
        "",
        f"  client_id      {credentials.client_id}",
        f"  client_secret  {credentials.client_secret}   (shown once)",
        f"  customer id    {customer}",
        "",
        "Get a token, then read the customer's jobs through the v3 API and the Modern API:",
        "",
        f"  TOKEN=$({token} | {extract})",
        f'  curl -s -X POST -H "Authorization: Bearer $TOKEN" '
        f'"{base}/partner/external/v3/general/customers/{customer}/jobs?pageSize=10"',
        f'  curl -s -H "Authorization: Bearer $TOKEN" '
        f'"{base}/partner/customers/{customer}/jobs/jobType/Microsoft%20365/jobModule/SharePoint%20Online"',
        "",
        f"All endpoints, with examples: {base}/docs",
        "",
    ]
    console.print("\n".join(lines), markup=False, highlight=False, crop=False)
