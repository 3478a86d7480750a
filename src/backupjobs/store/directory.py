"""Partners, customers and their backup services: operator writes and scoped reads."""

from __future__ import annotations

import random
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.bulk import one_of
from backupjobs.store.paging import Page, fetch_page, offset_page_statement
from backupjobs.store.schema import backup_services, customers, partners
from backupjobs.store.scope import TenantScope

# Revision tags need only never to repeat: a generator seeded from the OS once, not a
# system call per tag.
_revisions = random.Random()  # noqa: S311


class NotFoundError(LookupError):
    """An operator named a partner, customer or app that does not exist."""


class ConflictError(ValueError):
    """An operator asked to create something that already exists."""


async def create_partner(connection: AsyncConnection, name: str, *, now: datetime) -> UUID:
    partner_id = uuid.uuid4()
    await connection.execute(
        partners.insert().values(id=partner_id, name=_name(name), created_at=now)
    )
    return partner_id


async def require_partner(connection: AsyncConnection, partner_id: UUID) -> None:
    found = await connection.scalar(select(partners.c.id).where(partners.c.id == partner_id))
    if found is None:
        raise NotFoundError(f"no partner {partner_id}")


async def create_customer(
    connection: AsyncConnection,
    partner_id: UUID,
    name: str,
    *,
    customer_id: UUID | None = None,
    now: datetime,
) -> UUID:
    await require_partner(connection, partner_id)
    customer_id = customer_id or uuid.uuid4()
    taken = await connection.scalar(select(customers.c.id).where(customers.c.id == customer_id))
    if taken is not None:
        raise ConflictError(f"customer {customer_id} already exists")
    await connection.execute(
        customers.insert().values(
            partner_id=partner_id, id=customer_id, name=_name(name), created_at=now
        )
    )
    return customer_id


async def customer_partner(connection: AsyncConnection, customer_id: UUID) -> UUID:
    """The partner a customer belongs to (operator commands name customers alone)."""
    partner_id = await connection.scalar(
        select(customers.c.partner_id).where(customers.c.id == customer_id)
    )
    if partner_id is None:
        raise NotFoundError(f"no customer {customer_id}")
    result: UUID = partner_id
    return result


async def enable_service(
    connection: AsyncConnection,
    customer_id: UUID,
    job_type: int,
    job_module: int,
    *,
    now: datetime,
) -> bool:
    """Add a backup service to a customer; False if it was already there."""
    partner_id = await customer_partner(connection, customer_id)
    key = {
        "partner_id": partner_id,
        "customer_id": customer_id,
        "job_type": job_type,
        "job_module": job_module,
    }
    exists = await connection.scalar(select(backup_services.c.job_type).filter_by(**key))
    if exists is not None:
        return False
    await connection.execute(backup_services.insert().values(**key, enabled_at=now))
    await services_changed(connection, partner_id, [customer_id])
    return True


async def services_changed(
    connection: AsyncConnection, partner_id: UUID, customer_ids: Collection[UUID]
) -> None:
    """Mark the customers' services as changed (a new ``services_revision``), in the
    caller's transaction: readers that cache services by revision read them again.

    The rows are locked in id order, so that concurrent writers never deadlock over
    them, and not against key locks (``FOR NO KEY UPDATE``): those of writers adding
    services to the same customers, whose foreign keys share-lock the customer's key.
    """
    if not customer_ids:
        return
    ids = sorted(customer_ids)
    chosen = (customers.c.partner_id == partner_id, one_of(connection, customers.c.id, ids))
    await connection.execute(
        select(customers.c.id)
        .where(*chosen)
        .order_by(customers.c.id)
        .with_for_update(key_share=True)
    )
    await connection.execute(
        update(customers).where(*chosen).values(services_revision=_revisions.getrandbits(63))
    )


_CUSTOMER = (customers.c.id, customers.c.name, customers.c.created_at)
_CUSTOMER_ORDER = (customers.c.name, customers.c.id)


def _visible_customers(scope: TenantScope) -> Select[Any]:
    return select(*_CUSTOMER).where(scope.conditions.allows(customers.c.partner_id, customers.c.id))


async def customer_page(
    connection: AsyncConnection,
    scope: TenantScope,
    *,
    customer_ids: list[UUID] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[Row[Any]]:
    """The visible customers (optionally only ``customer_ids``) ordered by name, then id."""
    base = _visible_customers(scope)
    if customer_ids is not None:
        base = base.where(customers.c.id.in_(customer_ids))
    statement = offset_page_statement(base, order_by=_CUSTOMER_ORDER, offset=offset, limit=limit)
    return await fetch_page(connection, statement)


async def get_customer(
    connection: AsyncConnection, scope: TenantScope, customer_id: UUID
) -> Row[Any] | None:
    result = await connection.execute(
        _visible_customers(scope).where(customers.c.id == customer_id)
    )
    row: Row[Any] | None = result.first()
    return row


def _name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise ValueError("a name must not be blank")
    if len(cleaned) > 200:
        raise ValueError("a name must be at most 200 characters")
    return cleaned
