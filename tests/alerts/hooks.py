"""Shared set-up of the alerts tests: subscriptions made over HTTP, deliveries read back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from httpx import AsyncClient

from tests.world import Tenant

WEBHOOKS = "/api/v1/webhooks"


async def subscribe(
    client: AsyncClient, tenant: Tenant, url: str, events: list[str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        WEBHOOKS,
        json={"url": url, "events": events, **fields},
        headers=await tenant.headers(client),
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def deliveries(client: AsyncClient, tenant: Tenant, webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"{WEBHOOKS}/{webhook_id}/deliveries", headers=await tenant.headers(client)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(
    client: AsyncClient, tenant: Tenant, webhook_id: str, count: int, seconds: float = 10
) -> list[dict[str, Any]]:
    """The webhook's deliveries once ``count`` of them are no longer pending."""
    deadline = time.monotonic() + seconds
    while True:
        found = await deliveries(client, tenant, webhook_id)
        done = [d for d in found if d["status"] != "pending"]
        if len(done) >= count:
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.05)


async def received(receiver: Any, count: int, seconds: float = 10) -> list[Any]:
    """The receiver's requests once it has ``count`` (waited for off the event loop)."""
    return await asyncio.to_thread(receiver.wait_for, count, seconds)
