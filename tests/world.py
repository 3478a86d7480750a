"""Test tenants: partners with customers and an app, made through the store, used over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from httpx import AsyncClient

from backupjobs.auth.permissions import ALL_PERMISSIONS
from backupjobs.provisioning import AppPlan, CustomerPlan, PartnerPlan, add_apps, provision
from backupjobs.store import directory
from backupjobs.store.database import Database

SEED_CUSTOMER = "00427fbc-8832-46cf-a1d2-582fa46ec638"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Tenant:
    """A partner, its customers, and one app (all customers unless scoped)."""

    partner_id: UUID
    customers: list[UUID]
    client_id: str
    secret: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def token(self, client: AsyncClient, scope: str | None = None) -> str:
        key = scope or ""
        if key not in self.tokens:
            self.tokens[key] = await get_token(client, self.client_id, self.secret, scope)
        return self.tokens[key]

    async def headers(self, client: AsyncClient, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(client, scope)}"}


async def make_tenant(
    db: Database,
    *,
    customers: int = 2,
    names: Sequence[str] | None = None,
    permissions: frozenset[str] = ALL_PERMISSIONS,
    app_customers: Sequence[int] | None = None,
    customer_ids: Sequence[UUID] | None = None,
) -> Tenant:
    """A new partner; ``app_customers`` limits the app to those customers (by position)."""
    plan = PartnerPlan(
        f"Partner {uuid.uuid4().hex[:6]}",
        customers=tuple(
            CustomerPlan(
                names[index] if names else f"Customer {index}",
                customer_ids[index] if customer_ids else None,
            )
            for index in range(customers)
        ),
        apps=(AppPlan("Test app", permissions, _positions(app_customers)),),
    )
    made = await provision(db, plan, now=now())
    return Tenant(
        made.partner_id, list(made.customer_ids), made.app.client_id, made.app.secret.value
    )


async def add_app(
    db: Database,
    tenant: Tenant,
    *,
    permissions: frozenset[str] = ALL_PERMISSIONS,
    app_customers: Sequence[int] | None = None,
) -> Tenant:
    """Another app of the same partner."""
    plan = AppPlan("Second app", permissions, _positions(app_customers))
    (app,) = await add_apps(db, tenant.partner_id, tenant.customers, [plan], now=now())
    return Tenant(tenant.partner_id, tenant.customers, app.client_id, app.secret.value)


def _positions(app_customers: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if app_customers is None else tuple(app_customers)


async def enable(db: Database, customer: UUID, job_type: int, job_module: int) -> None:
    async with db.write() as connection:
        await directory.enable_service(connection, customer, job_type, job_module, now=now())


async def get_token(
    client: AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/connect/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def job(customer: UUID | str, job_id: str, **fields: Any) -> dict[str, Any]:
    """An ingestion record: a finished Microsoft 365 / Microsoft 365 Groups job by default."""
    record: dict[str, Any] = {
        "jobId": job_id,
        "customerId": str(customer),
        "jobType": 7,
        "jobModule": 304,
        "status": 2,
        "name": "Nightly groups",
        "totalCount": 2323,
        "failedCount": 0,
        "successfulCount": 2323,
        "skippedCount": 0,
        "warningCount": 0,
        "backupSizeBytes": 1073741824,
        "startTime": "2025-09-11T03:21:16Z",
        "endTime": "2025-09-11T03:38:56Z",
        "lastModifyTime": "2025-09-11T03:38:57Z",
    }
    record.update(fields)
    return record


async def ingest(
    client: AsyncClient, tenant: Tenant, records: list[dict[str, Any]]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/ingest/jobs", json=records, headers=await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def v3_jobs_path(customer: UUID | str) -> str:
    return f"/partner/external/v3/general/customers/{customer}/jobs"
