"""Webhook subscriptions and their deliveries: the statements (SPEC §10.5).

>>> # subscription = await get_subscription(connection, scope, subscription_id)
>>> # claimed = await claim_due(connection, now=now, lease=LEASE, limit=20)

A subscription belongs to a partner; every app of the partner sees it, and its customer
list as far as the app's tenant scope goes. It was made by one app (``client_id``): it
hears only of the customers that app may see *when an event is sent* (checked by the
deliverer with :func:`customer_visible`). Secrets are stored sealed; sealing is the
caller's (:class:`backupjobs.infra.secretbox.SecretBox`).

Deliveries are claimed by one process at a time: a claim moves ``next_attempt_at`` to
the end of a lease and records a token; the outcome of an attempt is written only under
that token, and a process that died holding a claim leaves it due again at the lease's
end. On PostgreSQL the claim skips rows another transaction is claiming (``FOR UPDATE
SKIP LOCKED``); SQLite's write lock lets one claim run at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model.alerts import DeliveryStatus
from backupjobs.store.keyset import SortKey, keyset_select, position_of, split_page
from backupjobs.store.schema import (
    alert_events,
    customers,
    webhook_attempts,
    webhook_customers,
    webhook_deliveries,
    webhook_subscriptions,
)
from backupjobs.store.scope import TenantScope

#: Characters of an answer kept with its attempt.
RESPONSE_EXCERPT_CHARS = 1024

_s = webhook_subscriptions.c
_d = webhook_deliveries.c


@dataclass(frozen=True, slots=True)
class Subscription:
    id: UUID
    partner_id: UUID
    client_id: str
    url: str
    event_mask: int
    customer_ids: list[UUID] | None
    stale_after_seconds: int
    format: str
    description: str
    enabled: bool
    disabled_reason: str | None
    secret: bytes
    previous_secret: bytes | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


_SUBSCRIPTION_COLUMNS = (
    _s.id,
    _s.partner_id,
    _s.client_id,
    _s.url,
    _s.event_mask,
    _s.all_customers,
    _s.stale_after_seconds,
    _s.format,
    _s.description,
    _s.enabled,
    _s.disabled_reason,
    _s.secret,
    _s.previous_secret,
    _s.previous_secret_until,
    _s.created_at,
    _s.updated_at,
)
#: A partner's subscriptions in the order they were made.
SUBSCRIPTION_ORDER = (SortKey(_s.created_at, "created_at"), SortKey(_s.id, "id"))


async def visible_customers(
    connection: AsyncConnection, scope: TenantScope, customer_ids: Sequence[UUID]
) -> set[UUID]:
    """Those of ``customer_ids`` the app may see."""
    if not customer_ids:
        return set()
    rows = await connection.execute(
        select(customers.c.id).where(
            scope.conditions.allows(customers.c.partner_id, customers.c.id),
            customers.c.id.in_(list(customer_ids)),
        )
    )
    return set(rows.scalars())


async def create_subscription(
    connection: AsyncConnection,
    scope: TenantScope,
    values: Mapping[str, Any],
    customer_ids: Sequence[UUID] | None,
    *,
    now: datetime,
) -> UUID:
    """A new subscription of the app's partner, made by the app. ``values``: its
    columns (url, event_mask, stale_after_seconds, format, description, secret);
    ``customer_ids`` (visible ones, checked by the caller) or None for all."""
    subscription_id = uuid.uuid4()
    await connection.execute(
        insert(webhook_subscriptions).values(
            partner_id=scope.partner_id,
            id=subscription_id,
            client_id=scope.client_id,
            all_customers=customer_ids is None,
            enabled=True,
            created_at=now,
            updated_at=now,
            **values,
        )
    )
    await _set_customers(connection, scope, subscription_id, customer_ids)
    return subscription_id


async def _set_customers(
    connection: AsyncConnection,
    scope: TenantScope,
    subscription_id: UUID,
    customer_ids: Sequence[UUID] | None,
) -> None:
    await connection.execute(
        delete(webhook_customers).where(
            webhook_customers.c.partner_id == scope.partner_id,
            webhook_customers.c.subscription_id == subscription_id,
        )
    )
    if customer_ids:
        await connection.execute(
            insert(webhook_customers),
            [
                {
                    "partner_id": scope.partner_id,
                    "subscription_id": subscription_id,
                    "customer_id": customer_id,
                }
                for customer_id in sorted(set(customer_ids))
            ],
        )


async def _with_customers(
    connection: AsyncConnection, scope: TenantScope, rows: Sequence[Any]
) -> list[Subscription]:
    listed = [row.id for row in rows if not row.all_customers]
    chosen: dict[UUID, list[UUID]] = {subscription_id: [] for subscription_id in listed}
    if listed:
        found = await connection.execute(
            select(webhook_customers.c.subscription_id, webhook_customers.c.customer_id)
            .where(
                webhook_customers.c.partner_id == scope.partner_id,
                webhook_customers.c.subscription_id.in_(listed),
                # Only those this app may see: another app's narrower scope shows less.
                scope.conditions.allows(
                    webhook_customers.c.partner_id, webhook_customers.c.customer_id
                ),
            )
            .order_by(webhook_customers.c.customer_id)
        )
        for subscription_id, customer_id in found:
            chosen[subscription_id].append(customer_id)
    subscriptions = []
    for row in rows:
        values = dict(row._mapping)
        all_customers = values.pop("all_customers")
        values["customer_ids"] = None if all_customers else chosen[row.id]
        subscriptions.append(Subscription(**values))
    return subscriptions


async def get_subscription(
    connection: AsyncConnection, scope: TenantScope, subscription_id: UUID
) -> Subscription | None:
    """The subscription if it is the app's partner's, else None (whoever's it is)."""
    rows = (
        await connection.execute(
            select(*_SUBSCRIPTION_COLUMNS).where(
                _s.partner_id == scope.partner_id, _s.id == subscription_id
            )
        )
    ).all()
    found = await _with_customers(connection, scope, rows)
    return found[0] if found else None


async def list_subscriptions(
    connection: AsyncConnection,
    scope: TenantScope,
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> tuple[list[Subscription], list[Any] | None]:
    """A page of the partner's subscriptions, and the next page's position (or None)."""
    statement = keyset_select(
        select(*_SUBSCRIPTION_COLUMNS).where(_s.partner_id == scope.partner_id),
        SUBSCRIPTION_ORDER,
        position,
        limit=limit,
    )
    rows, more = split_page((await connection.execute(statement)).all(), limit)
    page = await _with_customers(connection, scope, rows)
    return page, (position_of(rows[-1], SUBSCRIPTION_ORDER) if more else None)


async def update_subscription(
    connection: AsyncConnection,
    scope: TenantScope,
    subscription_id: UUID,
    values: Mapping[str, Any],
    customer_ids: Sequence[UUID] | bool | None,
    *,
    now: datetime,
) -> bool:
    """Change the subscription's columns ``values``; ``customer_ids`` False: unchanged,
    None: all, a list: those. False when it is not the partner's."""
    changes = dict(values)
    if customer_ids is not False:
        changes["all_customers"] = customer_ids is None
    if changes.get("enabled") is True:
        changes["disabled_reason"] = None
    done = await connection.execute(
        update(webhook_subscriptions)
        .where(_s.partner_id == scope.partner_id, _s.id == subscription_id)
        .values(**changes, updated_at=now)
    )
    if not done.rowcount:
        return False
    if customer_ids is not False:
        assert customer_ids is not True
        await _set_customers(connection, scope, subscription_id, customer_ids)
    return True


async def delete_subscription(
    connection: AsyncConnection, scope: TenantScope, subscription_id: UUID
) -> bool:
    """Remove the subscription, its customer list and its deliveries (cascade)."""
    for table in (webhook_attempts, webhook_deliveries):
        ids = select(_d.id).where(
            _d.partner_id == scope.partner_id, _d.subscription_id == subscription_id
        )
        column = table.c.delivery_id if table is webhook_attempts else table.c.id
        await connection.execute(
            delete(table).where(table.c.partner_id == scope.partner_id, column.in_(ids))
        )
    await _set_customers(connection, scope, subscription_id, None)
    done = await connection.execute(
        delete(webhook_subscriptions).where(
            _s.partner_id == scope.partner_id, _s.id == subscription_id
        )
    )
    return bool(done.rowcount)


async def rotate_secret(
    connection: AsyncConnection,
    scope: TenantScope,
    subscription_id: UUID,
    sealed: bytes,
    *,
    previous_until: datetime,
    now: datetime,
) -> bool:
    """The new secret signs from now on; the current one beside it until
    ``previous_until``."""
    done = await connection.execute(
        update(webhook_subscriptions)
        .where(_s.partner_id == scope.partner_id, _s.id == subscription_id)
        .values(
            previous_secret=_s.secret,
            previous_secret_until=previous_until,
            secret=sealed,
            updated_at=now,
        )
    )
    return bool(done.rowcount)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    subscription_id: UUID
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


_DELIVERY_COLUMNS = (
    _d.id,
    _d.subscription_id,
    _d.event_id,
    alert_events.c.type.label("event_type"),
    _d.status,
    _d.attempts,
    _d.next_attempt_at,
    _d.last_response_status,
    _d.last_error,
    _d.delivered_at,
    _d.created_at,
)
#: A subscription's deliveries, newest first.
DELIVERY_ORDER = (
    SortKey(_d.created_at, "created_at", descending=True),
    SortKey(_d.id, "id", descending=True),
)


def _delivery(row: Any) -> Delivery:
    values = dict(row._mapping)
    if values["status"] != DeliveryStatus.PENDING.value:
        values["next_attempt_at"] = None
    return Delivery(**values)


def _deliveries_of(scope: TenantScope, subscription_id: UUID) -> Any:
    return (
        select(*_DELIVERY_COLUMNS)
        .select_from(
            webhook_deliveries.join(
                alert_events,
                (alert_events.c.partner_id == _d.partner_id) & (alert_events.c.id == _d.event_id),
            )
        )
        .where(_d.partner_id == scope.partner_id, _d.subscription_id == subscription_id)
    )


async def list_deliveries(
    connection: AsyncConnection,
    scope: TenantScope,
    subscription_id: UUID,
    position: Sequence[Any] | None,
    *,
    limit: int,
) -> tuple[list[Delivery], list[Any] | None]:
    statement = keyset_select(
        _deliveries_of(scope, subscription_id), DELIVERY_ORDER, position, limit=limit
    )
    rows, more = split_page((await connection.execute(statement)).all(), limit)
    return [_delivery(row) for row in rows], (
        position_of(rows[-1], DELIVERY_ORDER) if more else None
    )


async def get_delivery(
    connection: AsyncConnection, scope: TenantScope, subscription_id: UUID, delivery_id: UUID
) -> Delivery | None:
    row = (
        await connection.execute(_deliveries_of(scope, subscription_id).where(_d.id == delivery_id))
    ).one_or_none()
    return None if row is None else _delivery(row)


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    started_at: datetime
    duration_ms: int
    response_status: int | None
    error: str | None
    response_excerpt: str | None


async def attempts_of(
    connection: AsyncConnection, scope: TenantScope, delivery_id: UUID
) -> list[Attempt]:
    a = webhook_attempts.c
    rows = await connection.execute(
        select(
            a.number, a.started_at, a.duration_ms, a.response_status, a.error, a.response_excerpt
        )
        .where(a.partner_id == scope.partner_id, a.delivery_id == delivery_id)
        .order_by(a.number)
    )
    return [Attempt(**row._mapping) for row in rows]


async def redeliver(
    connection: AsyncConnection,
    scope: TenantScope,
    subscription_id: UUID,
    delivery_id: UUID,
    *,
    now: datetime,
) -> bool:
    """Start the delivery again, due now, with a schedule of its own."""
    done = await connection.execute(
        update(webhook_deliveries)
        .where(
            _d.partner_id == scope.partner_id,
            _d.subscription_id == subscription_id,
            _d.id == delivery_id,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            claim=None,
            delivered_at=None,
        )
    )
    return bool(done.rowcount)


# The deliverer's statements: every partner's due deliveries, claimed.


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt, with what sending it needs."""

    partner_id: UUID
    id: UUID
    claim: UUID
    attempts: int
    created_at: datetime
    subscription_id: UUID
    event_id: UUID
    event_type: str
    event_created_at: datetime
    customer_id: UUID | None
    job_type: int | None
    job_module: int | None
    incident_id: UUID | None
    job: str | None
    stale_after_seconds: int | None


async def claim_due(
    connection: AsyncConnection, *, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries until ``now + lease``, oldest due first."""
    due = (
        select(_d.partner_id, _d.id)
        .where(_d.status == DeliveryStatus.PENDING.value, _d.next_attempt_at <= now)
        .order_by(_d.next_attempt_at)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    keys = (await connection.execute(due)).all()
    if not keys:
        return []
    claim = uuid.uuid4()
    ids = [key.id for key in keys]
    await connection.execute(
        update(webhook_deliveries)
        .where(_d.id.in_(ids), _d.status == DeliveryStatus.PENDING.value)
        .values(next_attempt_at=now + lease, claim=claim)
    )
    e = alert_events.c
    rows = await connection.execute(
        select(
            _d.partner_id,
            _d.id,
            _d.claim,
            _d.attempts,
            _d.created_at,
            _d.subscription_id,
            _d.event_id,
            e.type.label("event_type"),
            e.created_at.label("event_created_at"),
            e.customer_id,
            e.job_type,
            e.job_module,
            e.incident_id,
            e.job,
            e.stale_after_seconds,
        )
        .select_from(
            webhook_deliveries.join(
                alert_events, (e.partner_id == _d.partner_id) & (e.id == _d.event_id)
            )
        )
        .where(_d.id.in_(ids), _d.claim == claim)
    )
    return [Claimed(**row._mapping) for row in rows]


async def subscription_for_delivery(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID
) -> Subscription | None:
    """A subscription by its key, its customer list unfiltered (the deliverer's view)."""
    row = (
        await connection.execute(
            select(*_SUBSCRIPTION_COLUMNS).where(
                _s.partner_id == partner_id, _s.id == subscription_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    all_customers = values.pop("all_customers")
    listed = None
    if not all_customers:
        listed = list(
            (
                await connection.execute(
                    select(webhook_customers.c.customer_id).where(
                        webhook_customers.c.partner_id == partner_id,
                        webhook_customers.c.subscription_id == subscription_id,
                    )
                )
            ).scalars()
        )
    return Subscription(**values, customer_ids=listed)


async def customer_name_if_visible(
    connection: AsyncConnection, scope: TenantScope, customer_id: UUID
) -> str | None:
    """The customer's name if the app of ``scope`` may see it now, else None."""
    name: str | None = await connection.scalar(
        select(customers.c.name).where(
            scope.conditions.allows(customers.c.partner_id, customers.c.id),
            customers.c.id == customer_id,
        )
    )
    return name


async def finish_attempt(
    connection: AsyncConnection,
    claimed: Claimed,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
    started_at: datetime,
    duration_ms: int,
    response_status: int | None,
    error: str | None,
    excerpt: str | None,
    now: datetime,
    count_attempt: bool = True,
) -> bool:
    """Record an attempt's outcome under its claim; False when the claim was lost (the
    lease ended and another process took it, or it was redelivered meanwhile)."""
    done = await connection.execute(
        update(webhook_deliveries)
        .where(_d.partner_id == claimed.partner_id, _d.id == claimed.id, _d.claim == claimed.claim)
        .values(
            status=status.value,
            attempts=claimed.attempts + (1 if count_attempt else 0),
            next_attempt_at=next_attempt_at or now,
            claim=None,
            last_response_status=response_status,
            last_error=error,
            delivered_at=now if status is DeliveryStatus.DELIVERED else None,
        )
    )
    if not done.rowcount:
        return False
    if count_attempt:
        number = claimed.attempts + 1
        # A redelivery starts numbering again: its attempts replace the old ones'.
        await connection.execute(
            delete(webhook_attempts).where(
                webhook_attempts.c.partner_id == claimed.partner_id,
                webhook_attempts.c.delivery_id == claimed.id,
                webhook_attempts.c.number >= number,
            )
        )
        await connection.execute(
            insert(webhook_attempts).values(
                partner_id=claimed.partner_id,
                delivery_id=claimed.id,
                number=number,
                started_at=started_at,
                duration_ms=duration_ms,
                response_status=response_status,
                error=error,
                response_excerpt=None if excerpt is None else excerpt[:RESPONSE_EXCERPT_CHARS],
            )
        )
    return True


async def disable_subscription(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID, reason: str, now: datetime
) -> None:
    """Disabled by the service (a 410 answer): no more deliveries until enabled again."""
    await connection.execute(
        update(webhook_subscriptions)
        .where(_s.partner_id == partner_id, _s.id == subscription_id)
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )


async def queue_depth(connection: AsyncConnection) -> int:
    """Deliveries pending, for the metrics."""
    count = await connection.scalar(
        select(func.count()).select_from(webhook_deliveries).where(_d.status == "pending")
    )
    return int(count or 0)
