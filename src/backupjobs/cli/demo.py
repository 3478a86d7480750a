"""The demo data set: a partner, its customers and weeks of jobs, and an app to read them.

Made once; a later run finds it, gives the app a new secret and revokes the earlier ones,
so that the demo app has one working secret however often the demo is started.
"""

from __future__ import annotations

import random
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth import apps as app_registry
from backupjobs.auth import users
from backupjobs.auth.permissions import ALL_PERMISSIONS
from backupjobs.auth.tokens import Principal
from backupjobs.auth.users import Role
from backupjobs.catalog import FAILED, FINISHED, FINISHED_WITH_EXCEPTION, RUNNING
from backupjobs.cli.common import console, program
from backupjobs.model import JobRecord
from backupjobs.provisioning import provision
from backupjobs.settings import Settings
from backupjobs.simulation import (
    SimulatedCustomer,
    partner_plan,
    service_runs,
    simulated_customer,
)
from backupjobs.store.database import Database
from backupjobs.store.ingestion import Ingestor
from backupjobs.store.schema import apps, customers, partners

DEMO_PARTNER = "Demo MSP"
DEMO_APP = "Demo app"
#: The demo's dashboard user (an admin), given a new one-time password on every run.
DEMO_USER = "admin@demo-msp.example"
_CUSTOMERS = 6
#: The demo customers (by position) that went quiet, and that are recovering.
_QUIET = 5
_RECOVERING = 3
_SEED = 2025
_BATCH = 1_000
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    partner_id: UUID
    client_id: str
    client_secret: str
    #: The customer the printed requests read (the demo's first: Northwind Traders).
    customer_id: UUID
    customer_name: str
    #: False the first time: the data was made by this run.
    rerun: bool = False
    #: Earlier secrets of the demo app that this run revoked.
    revoked: int = 0
    #: The one-time password of :data:`DEMO_USER` (changed at the first sign-in).
    dashboard_password: str = ""


def _tenants(rng: random.Random) -> list[SimulatedCustomer]:
    """The demo's customers: the same ids and names on every machine."""
    tenants = [simulated_customer(rng, index) for index in range(_CUSTOMERS)]
    # Whatever the dice say, the demo shows each state a partner has to notice.
    never_run = next(s for s in ((7, 310), (7, 311), (7, 312)) if s not in tenants[3].services)
    tenants[3] = replace(tenants[3], never_run=(*tenants[3].never_run, never_run))
    return tenants


async def seed_demo(config: Settings, *, days: int, now: datetime) -> DemoCredentials:
    """Create the demo data once; a later run reuses it, gives the demo app a new secret
    and revokes its earlier ones."""
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
            renewed = (
                None
                if existing is None
                else await _renew(connection, existing.partner_id, existing.client_id, now=now)
            )
        credentials = renewed or await _create(db, days=days, now=now)
        async with db.write() as connection:
            password = await _dashboard_user(connection, credentials.partner_id, now=now)
        return replace(credentials, dashboard_password=password)
    finally:
        await db.dispose()


async def _dashboard_user(connection: AsyncConnection, partner_id: UUID, *, now: datetime) -> str:
    """A one-time password for the demo's dashboard user, made the first time."""
    found, _ = await users.find_user(connection, DEMO_USER)
    if found is None:
        issued = await users.create_user(connection, partner_id, DEMO_USER, Role.ADMIN, now=now)
    else:
        issued = await users.reset_password(connection, partner_id, DEMO_USER)
    return issued.password


async def _renew(
    connection: AsyncConnection, partner_id: UUID, client_id: str, *, now: datetime
) -> DemoCredentials:
    """The demo made before: a new secret for its app, the earlier ones revoked."""
    earlier = await app_registry.secrets_of(connection, client_id)
    secret = await app_registry.add_secret(connection, client_id, years=1, now=now)
    for old in earlier:
        await app_registry.remove_secret(connection, client_id, old.id)
    made = {
        row.id: row.name
        for row in await connection.execute(
            select(customers.c.id, customers.c.name)
            .where(customers.c.partner_id == partner_id)
            .order_by(customers.c.name, customers.c.id)
        )
    }
    first = _tenants(random.Random(_SEED))[0].id
    # An operator may have removed it since: then the first by name.
    featured = first if first in made else next(iter(made), first)
    return DemoCredentials(
        partner_id,
        client_id,
        secret.value,
        featured,
        made.get(featured, ""),
        rerun=True,
        revoked=len(earlier),
    )


async def _create(db: Database, *, days: int, now: datetime) -> DemoCredentials:
    rng = random.Random(_SEED)
    tenants = _tenants(rng)
    last_status = {(0, 0): RUNNING, (1, 0): FAILED, (2, 1): FINISHED_WITH_EXCEPTION, (4, 0): FAILED}
    made = await provision(db, partner_plan(DEMO_PARTNER, tenants, DEMO_APP), now=now)
    scope = Principal(made.app.client_id, made.partner_id, ALL_PERMISSIONS).tenant_scope
    records: list[JobRecord] = []
    # The recovering customer's night of success: the last one whose runs (started by
    # 04:15 UTC) have surely ended, today's from noon on, before that yesterday's.
    recovered_by = now
    if now.hour < 12:
        recovered_by = now.replace(hour=0, minute=0, second=0, microsecond=0) - _SECOND
    for number, tenant in enumerate(tenants):
        for position, service in enumerate(tenant.services):
            # The reports' cases: a customer gone quiet three days ago, and one whose
            # services failed one night and recovered the next.
            ends = now - timedelta(days=3) if number == _QUIET else now
            if number == _RECOVERING:
                ends = recovered_by - timedelta(days=1)
            records += service_runs(
                rng,
                tenant,
                service,
                days=days,
                now=ends,
                job_prefix="FB",
                last_status=FAILED
                if number == _RECOVERING
                else last_status.get((number, position)),
            )
            if number == _RECOVERING:
                records += service_runs(
                    rng,
                    tenant,
                    service,
                    days=1,
                    now=recovered_by,
                    job_prefix="FB",
                    last_status=FINISHED,
                )
    ingestor = Ingestor(db)
    for start in range(0, len(records), _BATCH):
        chunk = list(enumerate(records[start : start + _BATCH]))
        async with db.write() as connection:
            await ingestor.ingest(connection, scope, chunk, now=now)
    return DemoCredentials(
        made.partner_id,
        made.app.client_id,
        made.app.secret.value,
        made.customer_ids[0],
        tenants[0].name,
    )


def print_walkthrough(config: Settings, credentials: DemoCredentials) -> None:
    """The credentials and copy-paste commands, unwrapped so that they paste whole, in a
    form that runs as printed (``backupjobs`` as this program was started)."""
    base = config.public_url
    customer = credentials.customer_id
    token = (
        f"curl -s {base}/connect/token -d grant_type=client_credentials "
        f"-d client_id={credentials.client_id} -d client_secret={credentials.client_secret}"
    )
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    me = program()
    # A customer argument may be the start of its name, as a partner would type it.
    named = shlex.quote(credentials.customer_name.split()[0]) if credentials.customer_name else ""
    lines = [
        "",
        "backupjobs demo: a partner with customers and weeks of backup jobs.",
        "",
        f"  client_id      {credentials.client_id}",
        f"  client_secret  {credentials.client_secret}   (shown once)",
        f"  customer id    {customer}   ({credentials.customer_name})",
        "",
        _about_secrets(credentials),
        "",
        "Get a token, then read the customer's jobs through the v3 API and the Modern API:",
        "",
        f"  TOKEN=$({token} | {extract})",
        f'  curl -s -X POST -H "Authorization: Bearer $TOKEN" '
        f'"{base}/partner/external/v3/general/customers/{customer}/jobs?pageSize=10"',
        f'  curl -s -H "Authorization: Bearer $TOKEN" '
        f'"{base}/partner/customers/{customer}/jobs/jobType/Microsoft%20365/jobModule/SharePoint%20Online"',
        "",
        "Or with the partner command line, from another terminal in this folder:",
        "",
        f"  export BACKUPJOBS_API_URL={base} BACKUPJOBS_CLIENT_ID={credentials.client_id} "
        f"BACKUPJOBS_CLIENT_SECRET={credentials.client_secret}",
        f"  {me} client customers",
        f'  {me} client jobs {named or customer} --type "Microsoft 365"',
        f"  {me} client attention",
        "",
        f"The dashboard: {base}/dashboard",
        f"  sign in as {DEMO_USER} with {credentials.dashboard_password}   (one-time: "
        "choose your own password at the first sign-in; each demo run gives a new one)",
        "",
        f"All endpoints, with examples: {base}/docs",
        "",
    ]
    console.print("\n".join(lines), markup=False, highlight=False, crop=False)


def _about_secrets(credentials: DemoCredentials) -> str:
    if not credentials.rerun:
        return "Starting the demo again keeps its data and replaces this secret with a new one."
    count = credentials.revoked
    earlier = (
        "it had no other"
        if count == 0
        else "its earlier secret is revoked"
        if count == 1
        else f"its {count} earlier secrets are revoked"
    )
    return (
        "The demo was made before: the same partner, customers and jobs. The app has a new "
        f"secret and {earlier} (tokens already issued keep working until they expire)."
    )
