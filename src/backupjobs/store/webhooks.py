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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.model.alerts import DeliveryStatus
from backupjobs.store.bulk import insert_rows, one_of, recordset
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
) -> dict[UUID, str]:
    """Those of ``customer_ids`` the app may see now, with their names (one statement
    whatever their number: an ``IN`` list is another statement to prepare per length)."""
    if not customer_ids:
        return {}
    rows = await connection.execute(
        select(customers.c.id, customers.c.name).where(
            scope.conditions.allows(customers.c.partner_id, customers.c.id),
            one_of(connection, customers.c.id, customer_ids),
        )
    )
    return {row.id: row.name for row in rows}


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
    connection: AsyncConnection, partner_id: UUID, rows: Sequence[Any], scope: TenantScope | None
) -> list[Subscription]:
    """Subscriptions of ``rows``, with the customers they list: those the app of
    ``scope`` may see (another app's narrower scope shows less), or all without one."""
    listed = [row.id for row in rows if not row.all_customers]
    chosen: dict[UUID, list[UUID]] = {subscription_id: [] for subscription_id in listed}
    if listed:
        c = webhook_customers.c
        visible = [] if scope is None else [scope.conditions.allows(c.partner_id, c.customer_id)]
        found = await connection.execute(
            select(c.subscription_id, c.customer_id)
            .where(c.partner_id == partner_id, c.subscription_id.in_(listed), *visible)
            .order_by(c.customer_id)
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
    return await _subscription(connection, scope.partner_id, subscription_id, scope)


async def _subscription(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID, scope: TenantScope | None
) -> Subscription | None:
    rows = (
        await connection.execute(
            select(*_SUBSCRIPTION_COLUMNS).where(
                _s.partner_id == partner_id, _s.id == subscription_id
            )
        )
    ).all()
    found = await _with_customers(connection, partner_id, rows, scope)
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
    page = await _with_customers(connection, scope.partner_id, rows, scope)
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
    if not await _change(connection, scope.partner_id, subscription_id, changes, now):
        return False
    if customer_ids is not False:
        assert customer_ids is not True
        await _set_customers(connection, scope, subscription_id, customer_ids)
    return True


async def delete_subscription(
    connection: AsyncConnection, scope: TenantScope, subscription_id: UUID
) -> bool:
    """Remove the subscription, its customer list, its deliveries and their attempts.

    The deliveries are locked first: a process recording an attempt holds its delivery's
    row until it commits, and one that comes later finds the delivery gone and writes
    nothing, so no attempt outlives its delivery (they have no foreign key)."""
    ids = select(_d.id).where(
        _d.partner_id == scope.partner_id, _d.subscription_id == subscription_id
    )
    # Counted, not read back: a subscription may have many deliveries.
    await connection.execute(select(func.count()).select_from(ids.with_for_update().subquery()))
    for table in (webhook_attempts, webhook_deliveries):
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
    changes = {"previous_secret": _s.secret, "previous_secret_until": previous_until}
    return await _change(
        connection, scope.partner_id, subscription_id, changes | {"secret": sealed}, now
    )


async def _change(
    connection: AsyncConnection,
    partner_id: UUID,
    subscription_id: UUID,
    changes: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Set a subscription's columns ``changes``; False when the partner has no such one."""
    done = await connection.execute(
        update(webhook_subscriptions)
        .where(_s.partner_id == partner_id, _s.id == subscription_id)
        .values(**changes, updated_at=now)
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
    """Start the delivery again, due now, with a schedule (and attempt log) of its own.

    The delivery first: its row lock waits for a process recording an attempt under the
    old claim (which then counts no more), so that no attempt of the old schedule is
    written after the log is cleared."""
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
    if not done.rowcount:
        return False
    await connection.execute(
        delete(webhook_attempts).where(
            webhook_attempts.c.partner_id == scope.partner_id,
            webhook_attempts.c.delivery_id == delivery_id,
        )
    )
    return True


# The deliverer's statements: every partner's due deliveries, claimed.


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as written (``job``: its job record as JSON), to render."""

    id: UUID
    type: str
    created_at: datetime
    customer_id: UUID | None
    job_type: int | None
    job_module: int | None
    incident_id: UUID | None
    job: str | None
    stale_after_seconds: int | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt, with its event."""

    partner_id: UUID
    id: UUID
    claim: UUID
    attempts: int
    created_at: datetime
    subscription_id: UUID
    event: StoredEvent


@dataclass(slots=True)
class ClaimedHere:
    """Deliveries a transaction writes already claimed (``claim``, until ``until``) for
    the process that sends them after its commit: they need no round of
    :func:`claim_due` (a locking read, an UPDATE of each delivery and a read of its
    event). Once the transaction has committed, ``deliveries`` holds them; ``made_at``
    (``time.monotonic()``) is when the claim's lease began, at the latest.

    If that process dies first, the lease ends and any process sends them, as with a
    claim of :func:`claim_due`.
    """

    claim: UUID
    until: datetime
    made_at: float
    deliveries: list[Claimed] = field(default_factory=list)


_e = alert_events.c
_EVENT_COLUMNS = (
    _e.id,
    _e.type,
    _e.created_at,
    _e.customer_id,
    _e.job_type,
    _e.job_module,
    _e.incident_id,
    _e.job,
    _e.stale_after_seconds,
)


#: Pending, as the partial index of due deliveries says it (``ix_webhook_deliveries_due``):
#: written out, not a bound parameter, which a generic plan could not match to the index.
_IS_PENDING = _d.status == literal_column(f"'{DeliveryStatus.PENDING.value}'")


async def claim_due(
    connection: AsyncConnection, *, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries until ``now + lease``, oldest due first."""
    due = (
        select(_d.partner_id, _d.id)
        .where(_IS_PENDING, _d.next_attempt_at <= now)
        .order_by(_d.next_attempt_at)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    keys = (await connection.execute(due)).all()
    if not keys:
        return []
    claim = uuid.uuid4()
    # By the primary key (partner, id): a lookup each, whatever the table holds.
    claimed = tuple_(_d.partner_id, _d.id).in_([(key.partner_id, key.id) for key in keys])
    await connection.execute(
        update(webhook_deliveries)
        .where(claimed, _d.status == DeliveryStatus.PENDING.value)
        .values(next_attempt_at=now + lease, claim=claim)
    )
    rows = await connection.execute(
        select(
            _d.partner_id, _d.id, _d.attempts, _d.created_at, _d.subscription_id, *_EVENT_COLUMNS
        )
        .select_from(
            webhook_deliveries.join(
                alert_events, (_e.partner_id == _d.partner_id) & (_e.id == _d.event_id)
            )
        )
        .where(claimed, _d.claim == claim)
    )
    found = []
    for partner_id, delivery_id, attempts, created_at, subscription_id, *event in rows:
        found.append(
            Claimed(
                partner_id,
                delivery_id,
                claim,
                attempts,
                created_at,
                subscription_id,
                StoredEvent(*event),
            )
        )
    return found


async def subscription_for_delivery(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID
) -> Subscription | None:
    """A subscription by its key, its customer list unfiltered (the deliverer's view)."""
    return await _subscription(connection, partner_id, subscription_id, None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of an attempt at a claimed delivery (or of one skipped unsent:
    ``counted`` False), to record under its claim."""

    claimed: Claimed
    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    started_at: datetime | None = None
    duration_ms: int = 0
    response_status: int | None = None
    error: str | None = None
    excerpt: str | None = None
    counted: bool = True


async def finish_attempts(
    connection: AsyncConnection, outcomes: Sequence[Outcome], *, now: datetime
) -> list[Outcome]:
    """Record outcomes on their deliveries, each under its claim, and log the attempts;
    those recorded (a claim is lost when its lease ended and another process took it,
    or it was redelivered meanwhile). One statement each on PostgreSQL, whatever the
    count."""
    changes = [
        {
            "partner_id": outcome.claimed.partner_id,
            "id": outcome.claimed.id,
            "claim": outcome.claimed.claim,
            "status": outcome.status.value,
            "attempts": outcome.claimed.attempts + (1 if outcome.counted else 0),
            "next_attempt_at": outcome.next_attempt_at or now,
            "last_response_status": outcome.response_status,
            "last_error": outcome.error,
            "delivered_at": now if outcome.status is DeliveryStatus.DELIVERED else None,
        }
        for outcome in outcomes
    ]
    if not changes:
        return []
    key = ("partner_id", "id", "claim")
    released: dict[str, Any] = {"claim": None}
    if connection.dialect.name == "postgresql":
        given, params = recordset(
            connection,
            {name: _d[name] for name in changes[0]},
            [tuple(c.values()) for c in changes],
        )
        done = await connection.execute(
            update(webhook_deliveries)
            .where(
                *(_d[name] == given.c[name] for name in key),
                # The keys again, as arrays: joined to the rows given alone, PostgreSQL
                # read every delivery ever made (a hash join over a sequential scan, up
                # to about 30,000 of them, where it turns to the index).
                one_of(connection, _d.partner_id, sorted({c["partner_id"] for c in changes})),
                one_of(connection, _d.id, [c["id"] for c in changes]),
            )
            .values({name: given.c[name] for name in changes[0] if name not in key} | released)
            .returning(_d.id),
            params,
        )
        recorded = set(done.scalars())
    else:
        recorded = set()
        for change in changes:
            values = dict(change)
            done = await connection.execute(
                update(webhook_deliveries)
                .where(*(_d[name] == values.pop(name) for name in key))
                .values(values | released)
            )
            if done.rowcount:
                recorded.add(change["id"])
    kept = [outcome for outcome in outcomes if outcome.claimed.id in recorded]
    attempts = [
        {
            "partner_id": outcome.claimed.partner_id,
            "delivery_id": outcome.claimed.id,
            "number": outcome.claimed.attempts + 1,
            "started_at": outcome.started_at or now,
            "duration_ms": outcome.duration_ms,
            "response_status": outcome.response_status,
            "error": outcome.error,
            "response_excerpt": None
            if outcome.excerpt is None
            else outcome.excerpt[:RESPONSE_EXCERPT_CHARS],
        }
        for outcome in kept
        if outcome.counted
    ]
    if attempts:
        # One statement (executemany sent one per row: 4,220 for as many deliveries).
        await insert_rows(connection, webhook_attempts, attempts)
    return kept


async def hurry_backlog(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID, now: datetime
) -> int:
    """Make the subscription's deliveries waiting for a retry due now (its endpoint has
    just answered 2xx: the backlog of an outage goes out at once, not hours later)."""
    done = await connection.execute(
        update(webhook_deliveries)
        .where(
            _d.partner_id == partner_id,
            _d.subscription_id == subscription_id,
            _d.status == DeliveryStatus.PENDING.value,
            _d.claim.is_(None),
            _d.attempts > 0,
            _d.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )
    return done.rowcount or 0


async def disable_subscription(
    connection: AsyncConnection, partner_id: UUID, subscription_id: UUID, reason: str, now: datetime
) -> None:
    """Disabled by the service (a 410 answer): no more deliveries until enabled again."""
    await _change(
        connection, partner_id, subscription_id, {"enabled": False, "disabled_reason": reason}, now
    )


async def queue_depth(connection: AsyncConnection) -> int:
    """Deliveries pending, for the metrics."""
    count = await connection.scalar(
        select(func.count()).select_from(webhook_deliveries).where(_IS_PENDING)
    )
    return int(count or 0)
