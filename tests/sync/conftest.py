"""The upstream for sync tests: this very service, a real ``backupjobs serve`` process
with its own database, playing the vendor's cloud."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from backupjobs.store import directory
from backupjobs.store.database import Database
from backupjobs.store.upstreams import Upstream
from tests.processes import environment, running_server
from tests.world import Tenant, make_tenant


@dataclass
class Vendor:
    url: str
    database_url: str


@dataclass
class VendorTenant:
    """A partner of the vendor: its customers, and an app whose secret sits in a file."""

    vendor: Vendor
    tenant: Tenant
    secret_file: Path

    @property
    def customers(self) -> list[UUID]:
        return self.tenant.customers

    async def ingest(self, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.vendor.url) as http:
            response = await http.post(
                "/api/v1/ingest/jobs", json=list(records), headers=await self.tenant.headers(http)
            )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def change(self, work: Any) -> Any:
        """Run ``work(connection)`` in a transaction on the vendor's database."""
        db = Database(self.vendor.database_url, pool_size=1)
        try:
            async with db.write() as connection:
                return await work(connection)
        finally:
            await db.dispose()

    def upstream(
        self, partner_id: UUID, *, name: str = "vendor", url: str | None = None
    ) -> Upstream:
        base = url or self.vendor.url
        return Upstream(
            partner_id=partner_id,
            name=name,
            base_url=base,
            token_url=f"{base}/connect/token",
            client_id=self.tenant.client_id,
            secret_file=str(self.secret_file),
            cert_file=None,
            key_file=None,
            interval_seconds=900,
            created_at=datetime.now(UTC),
        )


@pytest.fixture(scope="session")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vendor]:
    folder = tmp_path_factory.mktemp("vendor")
    url = f"sqlite:///{folder / 'vendor.db'}"
    env = environment(url, BACKUPJOBS_RATE_LIMIT_APP="0", BACKUPJOBS_RATE_LIMIT_TOKEN_CLIENT="0")
    with running_server(env, folder / "vendor.log") as server:
        yield Vendor(server.url, url)


@pytest.fixture
async def vendor_tenant(vendor: Vendor, tmp_path: Path) -> VendorTenant:
    """A new partner of the vendor with three customers."""
    db = Database(vendor.database_url, pool_size=1)
    try:
        tenant = await make_tenant(db, customers=3, names=["Alpha", "Bravo", "Charlie"])
    finally:
        await db.dispose()
    secret_file = tmp_path / "vendor-secret"
    secret_file.write_text(tenant.secret + "\n")
    return VendorTenant(vendor, tenant, secret_file)


async def enable_upstream(
    vendor_tenant: VendorTenant, customer: UUID, job_type: int, job_module: int
) -> None:
    async def work(connection: Any) -> None:
        await directory.enable_service(
            connection, customer, job_type, job_module, now=datetime.now(UTC)
        )

    await vendor_tenant.change(work)
