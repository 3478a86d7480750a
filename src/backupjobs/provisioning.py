"""Partners with their customers, backup services and apps, described once and made in one
transaction: for the demo, ``simulate`` and the tests' tenants.

>>> plan = PartnerPlan(
...     "Demo MSP",
...     customers=(CustomerPlan("Northwind", services=((7, 302),)), CustomerPlan("Fabrikam")),
...     apps=(AppPlan("Reader", frozenset({"elements.jobs.read.all"}), customers=(0,)),),
... )
>>> # made = await provision(db, plan, now=datetime.now(UTC))
>>> # made.partner_id, made.customer_ids, made.app.client_id, made.app.secret.value

The operator command line (``partners create``, ``customers create``, ``apps create``)
makes one thing a command, through the same store and registry functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.apps import IssuedSecret, register_app
from backupjobs.auth.permissions import ALL_PERMISSIONS
from backupjobs.model import NO_PROFILE, CustomerProfile
from backupjobs.store import directory
from backupjobs.store.database import Database

#: A backup service: (jobType, jobModule).
Service = tuple[int, int]


@dataclass(frozen=True, slots=True)
class CustomerPlan:
    name: str
    #: The tenant owner id; None: a new UUID.
    id: UUID | None = None
    #: Services enabled before any job of theirs (placeholder rows until they run).
    services: tuple[Service, ...] = ()
    profile: CustomerProfile = NO_PROFILE


@dataclass(frozen=True, slots=True)
class AppPlan:
    name: str
    permissions: frozenset[str] = ALL_PERMISSIONS
    #: The customers the app is limited to, by position among the partner's customers;
    #: None: all of them.
    customers: tuple[int, ...] | None = None
    secret_years: int = 1


@dataclass(frozen=True, slots=True)
class PartnerPlan:
    name: str
    customers: tuple[CustomerPlan, ...] = ()
    apps: tuple[AppPlan, ...] = ()


@dataclass(frozen=True, slots=True)
class RegisteredApp:
    client_id: str
    #: Its first secret, whose value is shown once and never stored.
    secret: IssuedSecret


@dataclass(frozen=True, slots=True)
class Provisioned:
    partner_id: UUID
    #: In the plan's order.
    customer_ids: tuple[UUID, ...]
    #: In the plan's order.
    apps: tuple[RegisteredApp, ...]

    @property
    def app(self) -> RegisteredApp:
        """The first app: most plans have one."""
        return self.apps[0]


async def provision(db: Database, plan: PartnerPlan, *, now: datetime) -> Provisioned:
    """Make the partner of ``plan``, its customers and their services, then its apps, all
    in one transaction: on any error (a customer id taken, a blank name) nothing is made."""
    async with db.write() as connection:
        partner_id = await directory.create_partner(connection, plan.name, now=now)
        customer_ids = []
        for customer in plan.customers:
            customer_id = await directory.create_customer(
                connection,
                partner_id,
                customer.name,
                customer_id=customer.id,
                profile=customer.profile,
                now=now,
            )
            for job_type, job_module in customer.services:
                await directory.enable_service(
                    connection, customer_id, job_type, job_module, now=now
                )
            customer_ids.append(customer_id)
        apps = await _register(connection, partner_id, customer_ids, plan.apps, now=now)
    return Provisioned(partner_id, tuple(customer_ids), apps)


async def add_apps(
    db: Database,
    partner_id: UUID,
    customer_ids: Sequence[UUID],
    apps: Sequence[AppPlan],
    *,
    now: datetime,
) -> tuple[RegisteredApp, ...]:
    """More apps of a partner made before, in one transaction; an app's ``customers`` are
    positions in ``customer_ids``."""
    async with db.write() as connection:
        return await _register(connection, partner_id, customer_ids, apps, now=now)


async def _register(
    connection: AsyncConnection,
    partner_id: UUID,
    customer_ids: Sequence[UUID],
    apps: Sequence[AppPlan],
    *,
    now: datetime,
) -> tuple[RegisteredApp, ...]:
    registered = []
    for app in apps:
        scope = None if app.customers is None else [customer_ids[i] for i in app.customers]
        client_id, secret = await register_app(
            connection,
            partner_id,
            app.name,
            app.permissions,
            customer_ids=scope,
            secret_years=app.secret_years,
            now=now,
        )
        registered.append(RegisteredApp(client_id, secret))
    return tuple(registered)
