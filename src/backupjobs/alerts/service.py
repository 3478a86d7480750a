"""What alerts do, callable without HTTP (the API and the dashboard use it).

>>> # box = await load_secret_box(db)
>>> # subscription, secret = await create_subscription(db, box, scope, spec, allow_private=False)
>>> # delivery = await send_ping(db, scope, subscription.id)

Inputs are checked here (:class:`InvalidSubscriptionError` says what is wrong and what is
valid); a subscription or customer the app may not see is :class:`UnknownError`, the same
whether it exists elsewhere or not.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from backupjobs.alerts.destinations import DestinationError, resolve_destination
from backupjobs.infra.secretbox import SecretBox
from backupjobs.model.alerts import EventType, WebhookFormat, event_mask
from backupjobs.sdk.webhooks import SECRET_PREFIX
from backupjobs.store import incidents, webhooks
from backupjobs.store.database import Database
from backupjobs.store.instance import instance_secret
from backupjobs.store.scope import TenantScope

#: The deployment's key sealing webhook secrets (``instance_secrets``).
WEBHOOK_SECRETS_KEY = "webhook-secrets"
#: How long a rotated-out secret keeps signing beside the new one.
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)
SECRET_BYTES = 32
MAX_DESCRIPTION = 500
MAX_CUSTOMERS = 1000


class InvalidSubscriptionError(ValueError):
    """A value a subscription cannot take; the message names it and what is valid."""


class UnknownError(LookupError):
    """A subscription, delivery or customer the app may not see (or that does not exist)."""


async def load_secret_box(db: Database) -> SecretBox:
    return SecretBox(await instance_secret(db, WEBHOOK_SECRETS_KEY))


def new_secret() -> tuple[str, bytes]:
    """A signing secret: as shown (``whsec_`` + base64) and its key bytes."""
    key = secrets.token_bytes(SECRET_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode(), key


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A subscription's settings as asked; None: not given (kept, or the default)."""

    url: str | None = None
    events: Sequence[EventType] | None = None
    customer_ids: Sequence[UUID] | None = None
    all_customers: bool = False
    stale_after: timedelta | None = None
    format: WebhookFormat | None = None
    description: str | None = None
    enabled: bool | None = None


async def _columns(
    db: Database, scope: TenantScope, spec: SubscriptionSpec, *, allow_private: bool
) -> dict[str, object]:
    columns: dict[str, object] = {}
    if spec.url is not None:
        try:
            await resolve_destination(spec.url, allow_private=allow_private)
        except DestinationError as error:
            raise InvalidSubscriptionError(str(error)) from None
        columns["url"] = spec.url
    if spec.events is not None:
        if not spec.events:
            raise InvalidSubscriptionError(
                "events must name at least one of: "
                + ", ".join(t.value for t in EventType if t is not EventType.PING)
            )
        columns["event_mask"] = event_mask(spec.events)
    if spec.stale_after is not None:
        columns["stale_after_seconds"] = int(spec.stale_after.total_seconds())
    if spec.format is not None:
        columns["format"] = spec.format.value
    if spec.description is not None:
        if len(spec.description) > MAX_DESCRIPTION:
            raise InvalidSubscriptionError(
                f"description is longer than {MAX_DESCRIPTION} characters"
            )
        columns["description"] = spec.description
    if spec.enabled is not None:
        columns["enabled"] = spec.enabled
    if spec.customer_ids is not None:
        if len(spec.customer_ids) > MAX_CUSTOMERS:
            raise InvalidSubscriptionError(f"customerIds may list at most {MAX_CUSTOMERS}")
        async with db.read() as connection:
            visible = await webhooks.visible_customers(connection, scope, spec.customer_ids)
        for customer_id in spec.customer_ids:
            if customer_id not in visible:
                raise UnknownError(f"Customer {customer_id} was not found.")
    return columns


async def create_subscription(
    db: Database,
    box: SecretBox,
    scope: TenantScope,
    spec: SubscriptionSpec,
    *,
    allow_private: bool,
    default_stale_after: timedelta,
) -> tuple[webhooks.Subscription, str]:
    """A new subscription and its secret (shown once)."""
    if spec.url is None or spec.events is None:
        raise InvalidSubscriptionError("url and events are required")
    columns = await _columns(db, scope, spec, allow_private=allow_private)
    columns.setdefault("stale_after_seconds", int(default_stale_after.total_seconds()))
    columns.setdefault("format", WebhookFormat.STANDARD.value)
    columns.setdefault("description", "")
    columns.pop("enabled", None)
    shown, key = new_secret()
    columns["secret"] = box.seal(key)
    now = datetime.now(UTC)
    async with db.write() as connection:
        subscription_id = await webhooks.create_subscription(
            connection,
            scope,
            columns,
            None if spec.customer_ids is None else list(spec.customer_ids),
            now=now,
        )
        made = await webhooks.get_subscription(connection, scope, subscription_id)
    assert made is not None
    return made, shown


async def get_subscription(
    db: Database, scope: TenantScope, subscription_id: UUID
) -> webhooks.Subscription:
    async with db.read() as connection:
        found = await webhooks.get_subscription(connection, scope, subscription_id)
    if found is None:
        raise UnknownError(f"Webhook {subscription_id} was not found.")
    return found


async def update_subscription(
    db: Database,
    scope: TenantScope,
    subscription_id: UUID,
    spec: SubscriptionSpec,
    *,
    allow_private: bool,
) -> webhooks.Subscription:
    await get_subscription(db, scope, subscription_id)
    columns = await _columns(db, scope, spec, allow_private=allow_private)
    customers: Sequence[UUID] | bool | None = False
    if spec.all_customers:
        customers = None
    elif spec.customer_ids is not None:
        customers = list(spec.customer_ids)
    async with db.write() as connection:
        changed = await webhooks.update_subscription(
            connection, scope, subscription_id, columns, customers, now=datetime.now(UTC)
        )
        found = await webhooks.get_subscription(connection, scope, subscription_id)
    if not changed or found is None:
        raise UnknownError(f"Webhook {subscription_id} was not found.")
    return found


async def delete_subscription(db: Database, scope: TenantScope, subscription_id: UUID) -> None:
    async with db.write() as connection:
        if not await webhooks.delete_subscription(connection, scope, subscription_id):
            raise UnknownError(f"Webhook {subscription_id} was not found.")


async def rotate_secret(
    db: Database, box: SecretBox, scope: TenantScope, subscription_id: UUID
) -> tuple[str, datetime]:
    """A new secret (shown once), and until when the previous one keeps signing."""
    shown, key = new_secret()
    now = datetime.now(UTC)
    until = now + PREVIOUS_SECRET_LIFETIME
    async with db.write() as connection:
        if not await webhooks.rotate_secret(
            connection, scope, subscription_id, box.seal(key), previous_until=until, now=now
        ):
            raise UnknownError(f"Webhook {subscription_id} was not found.")
    return shown, until


async def send_ping(db: Database, scope: TenantScope, subscription_id: UUID) -> webhooks.Delivery:
    """A ``ping`` event for this subscription alone, due now."""
    now = datetime.now(UTC)
    ping = incidents.NewEvent(
        id=uuid.uuid4(),
        type=EventType.PING,
        key=f"ping:{uuid.uuid4().hex}",
        customer_id=None,
        job_type=None,
        job_module=None,
        incident_id=None,
    )
    async with db.write() as connection:
        if await webhooks.get_subscription(connection, scope, subscription_id) is None:
            raise UnknownError(f"Webhook {subscription_id} was not found.")
        await incidents.write_events(
            connection, scope.partner_id, [ping], now=now, only_subscription=subscription_id
        )
        page, _ = await webhooks.list_deliveries(connection, scope, subscription_id, None, limit=1)
    return page[0]


async def redeliver(
    db: Database, scope: TenantScope, subscription_id: UUID, delivery_id: UUID
) -> webhooks.Delivery:
    async with db.write() as connection:
        if not await webhooks.redeliver(
            connection, scope, subscription_id, delivery_id, now=datetime.now(UTC)
        ):
            raise UnknownError(
                f"Delivery {delivery_id} of webhook {subscription_id} was not found."
            )
        found = await webhooks.get_delivery(connection, scope, subscription_id, delivery_id)
    assert found is not None
    return found
