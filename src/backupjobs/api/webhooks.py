"""``/api/v1/webhooks``: alert subscriptions, their deliveries (SPEC §10.5).

HTTP only: what the routes do is :mod:`backupjobs.alerts.service`'s. Bodies are decoded
here (msgspec) so that a bad one is a 400 naming the field and what it takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import Parameter

from backupjobs.alerts import service
from backupjobs.alerts.destinations import MAX_URL_LENGTH
from backupjobs.api.context import AppContext
from backupjobs.api.listing import Cursor, ItemPage, Limit
from backupjobs.api.problems import ProblemError, problem_responses
from backupjobs.api.requests import decode_body, json_body_operation, require_json
from backupjobs.api.security import SECURITY, requires
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal
from backupjobs.infra.cursors import binding
from backupjobs.model.alerts import SUBSCRIBABLE, EventType, WebhookFormat, mask_types
from backupjobs.model.durations import format_iso_duration, parse_duration
from backupjobs.store import webhooks as store
from backupjobs.wire.v1 import format_instant, optional_instant

PREFIX = "/api/v1/webhooks"
_GUARD = [requires(Permission.ALERTS_MANAGE)]
WebhookId = Annotated[str, Parameter(description="The webhook subscription's id.")]
DeliveryId = Annotated[str, Parameter(description="The delivery's id.")]
_EVENT_NAMES = ", ".join(t.value for t in SUBSCRIBABLE)
_FORMAT_NAMES = ", ".join(f.value for f in WebhookFormat)


class WebhookBody(msgspec.Struct, forbid_unknown_fields=True):
    """A subscription as created or changed; UNSET: not given."""

    url: str | msgspec.UnsetType = msgspec.UNSET
    events: list[str] | msgspec.UnsetType = msgspec.UNSET
    customerIds: list[UUID] | msgspec.UnsetType | None = msgspec.UNSET
    staleAfter: str | msgspec.UnsetType = msgspec.UNSET
    format: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class Webhook(msgspec.Struct):
    id: UUID
    url: str
    events: list[str]
    customerIds: list[UUID] | None
    staleAfter: str
    format: str
    description: str
    enabled: bool
    disabledReason: str | None
    previousSecretExpiresAt: str | None
    createdAt: str
    updatedAt: str


class CreatedWebhook(Webhook):
    #: Shown once: keep it to verify deliveries.
    secret: str


class RotatedSecret(msgspec.Struct):
    secret: str
    previousSecretExpiresAt: str


class DeliveryAttempt(msgspec.Struct):
    number: int
    startedAt: str
    durationMs: int
    responseStatus: int | None
    error: str | None
    responseExcerpt: str | None


class Delivery(msgspec.Struct):
    id: UUID
    eventId: UUID
    eventType: str
    status: str
    attempts: int
    lastResponseStatus: int | None
    lastError: str | None
    nextAttemptTime: str | None
    deliveredTime: str | None
    createdTime: str


class DeliveryWithAttempts(Delivery):
    attemptLog: list[DeliveryAttempt]


def _webhook_answer(found: store.Subscription) -> Webhook:
    return Webhook(
        id=found.id,
        url=found.url,
        events=[t.value for t in mask_types(found.event_mask)],
        customerIds=found.customer_ids,
        staleAfter=format_iso_duration(timedelta(seconds=found.stale_after_seconds)),
        format=found.format,
        description=found.description,
        enabled=found.enabled,
        disabledReason=found.disabled_reason,
        previousSecretExpiresAt=optional_instant(found.previous_secret_until),
        createdAt=format_instant(found.created_at),
        updatedAt=format_instant(found.updated_at),
    )


def _delivery(found: store.Delivery) -> Delivery:
    return Delivery(
        id=found.id,
        eventId=found.event_id,
        eventType=found.event_type,
        status=found.status,
        attempts=found.attempts,
        lastResponseStatus=found.last_response_status,
        lastError=found.last_error,
        nextAttemptTime=optional_instant(found.next_attempt_at),
        deliveredTime=optional_instant(found.delivered_at),
        createdTime=format_instant(found.created_at),
    )


_BODY_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    additional_properties=False,
    properties={
        "url": Schema(
            type=OpenAPIType.STRING,
            max_length=MAX_URL_LENGTH,
            description=(
                "http or https; its host must resolve to public addresses only (unless the "
                "deployment sets BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE=true)."
            ),
        ),
        "events": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.STRING, enum=[t.value for t in SUBSCRIBABLE]),
            min_items=1,
        ),
        "customerIds": Schema(
            type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
            items=Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
            description="The customers to hear of; null: every customer the app may see.",
        ),
        "staleAfter": Schema(
            type=OpenAPIType.STRING,
            description="ISO 8601 duration (PT36H); default BACKUPJOBS_STALE_AFTER.",
        ),
        "format": Schema(type=OpenAPIType.STRING, enum=[f.value for f in WebhookFormat]),
        "description": Schema(type=OpenAPIType.STRING, max_length=service.MAX_DESCRIPTION),
        "enabled": Schema(type=OpenAPIType.BOOLEAN, description="PATCH only."),
    },
)


def _parse_id(text: str, what: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ProblemError(404, f"{what} {text} was not found.") from None


async def _webhook_id(webhook_id: WebhookId) -> UUID:
    """The path's webhook id: text that is not one names no webhook (a 404)."""
    return _parse_id(webhook_id, "Webhook")


async def _delivery_id(delivery_id: DeliveryId) -> UUID:
    return _parse_id(delivery_id, "Delivery")


@contextmanager
def _answered() -> Iterator[None]:
    """What :mod:`backupjobs.alerts.service` refuses, as a problem: a 404 for what the app
    may not see (another partner's webhook is worded as one that does not exist), a 400
    for a subscription it cannot take."""
    try:
        yield
    except _ERRORS as error:
        raise _problem(error) from None


async def _webhook(
    subscription_id: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> store.Subscription:
    """The path's webhook, if the app's partner has it; a 404 otherwise, the same for
    another partner's as for one that does not exist."""
    with _answered():
        return await service.get_subscription(context.db, principal.tenant_scope, subscription_id)


#: What a route under ``/webhooks/{webhook_id}`` may ask for: the id (``subscription_id``),
#: the subscription itself (``subscription``), a delivery's id (``delivery``).
_BY_ID = {
    "subscription_id": Provide(_webhook_id),
    "subscription": Provide(_webhook),
    "delivery": Provide(_delivery_id),
}


async def _spec(request: Request[Any, Any, Any], *, creating: bool) -> service.SubscriptionSpec:
    require_json(request)
    body = decode_body(await request.body(), WebhookBody, lambda e: f"Invalid webhook: {e}.")
    if creating:
        if body.url is msgspec.UNSET or body.events is msgspec.UNSET:
            raise ProblemError(400, "Invalid webhook: url and events are required.")
        if body.enabled is not msgspec.UNSET:
            raise ProblemError(400, "Invalid webhook: enabled is set by PATCH only.")
    events = None
    if body.events is not msgspec.UNSET:
        events = []
        for name in body.events:
            try:
                event_type = EventType(name)
            except ValueError:
                event_type = EventType.PING
            if event_type is EventType.PING:
                raise ProblemError(
                    400, f"Invalid webhook: unknown event {name!r}; valid: {_EVENT_NAMES}."
                )
            events.append(event_type)
    stale_after = None
    if body.staleAfter is not msgspec.UNSET:
        try:
            stale_after = parse_duration(body.staleAfter)
        except ValueError as error:
            raise ProblemError(400, f"Invalid webhook: staleAfter: {error}.") from None
    format_ = None
    if body.format is not msgspec.UNSET:
        try:
            format_ = WebhookFormat(body.format)
        except ValueError:
            raise ProblemError(
                400, f"Invalid webhook: unknown format {body.format!r}; valid: {_FORMAT_NAMES}."
            ) from None
    customer_ids = None if body.customerIds is msgspec.UNSET else body.customerIds
    return service.SubscriptionSpec(
        url=None if body.url is msgspec.UNSET else body.url,
        events=events,
        customer_ids=customer_ids,
        all_customers=body.customerIds is None,
        stale_after=stale_after,
        format=format_,
        description=None if body.description is msgspec.UNSET else body.description,
        enabled=None if body.enabled is msgspec.UNSET else body.enabled,
    )


def _problem(error: Exception) -> ProblemError:
    if isinstance(error, service.UnknownError):
        return ProblemError(404, str(error))
    return ProblemError(400, f"Invalid webhook: {error}.")


_ERRORS = (service.UnknownError, service.InvalidSubscriptionError)


@post(
    "/",
    guards=_GUARD,
    status_code=201,
    summary="Subscribe a webhook to alerts",
    description=(
        "Events: job.failed, job.warning, service.stale, service.recovered (and ping, from "
        "the test operation). The answer carries the signing `secret` (whsec_...), shown "
        "once. Deliveries follow the Standard Webhooks specification (docs/alerts.md)."
    ),
    operation_class=json_body_operation(_BODY_SCHEMA, "The subscription.", required=True),
    responses=problem_responses(400, 401, 403, 404, 415, 429),
)
async def create_webhook(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> CreatedWebhook:
    spec = await _spec(request, creating=True)
    try:
        made, secret = await service.create_subscription(
            context.db,
            context.alerts.box,
            principal.tenant_scope,
            spec,
            allow_private=context.settings.webhook_allow_private,
            default_stale_after=context.settings.stale_after,
        )
    except _ERRORS as error:
        raise _problem(error) from None
    return CreatedWebhook(**msgspec.structs.asdict(_webhook_answer(made)), secret=secret)


@get(
    "/",
    guards=_GUARD,
    summary="List webhook subscriptions",
    responses=problem_responses(400, 401, 403, 429),
)
async def list_webhooks(
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[Webhook]]:
    bound = binding("webhooks", {"app": principal.client_id})
    position = context.cursors.position(cursor, binding=bound, type=tuple[datetime, UUID])
    async with context.db.read() as connection:
        page, following = await store.list_subscriptions(
            connection, principal.tenant_scope, position, limit=limit
        )
    after = None if following is None else [format_instant(following[0]), str(following[1])]
    return context.cursors.answer(request, [_webhook_answer(s) for s in page], after, binding=bound)


@get(
    "/",
    guards=_GUARD,
    summary="Show a webhook subscription",
    responses=problem_responses(401, 403, 404, 429),
)
async def show_webhook(subscription: NamedDependency[store.Subscription]) -> Webhook:
    return _webhook_answer(subscription)


@patch(
    "/",
    guards=_GUARD,
    summary="Change a webhook subscription",
    description="Any of url, events, customerIds (null: all), staleAfter, format, "
    "description, enabled. Enabling a subscription disabled by a 410 answer starts it again.",
    operation_class=json_body_operation(_BODY_SCHEMA, "The fields to change.", required=True),
    responses=problem_responses(400, 401, 403, 404, 415, 429),
)
async def update_webhook(
    subscription_id: NamedDependency[UUID],
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Webhook:
    spec = await _spec(request, creating=False)
    with _answered():
        found = await service.update_subscription(
            context.db,
            principal.tenant_scope,
            subscription_id,
            spec,
            allow_private=context.settings.webhook_allow_private,
        )
    return _webhook_answer(found)


@delete(
    "/",
    guards=_GUARD,
    status_code=204,
    summary="Delete a webhook subscription and its deliveries",
    responses=problem_responses(401, 403, 404, 429),
)
async def delete_webhook(
    subscription_id: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> None:
    with _answered():
        await service.delete_subscription(context.db, principal.tenant_scope, subscription_id)


@post(
    "/rotate-secret",
    guards=_GUARD,
    status_code=200,
    summary="Rotate a webhook's signing secret",
    description="The new secret (shown once) signs from now on; the previous one signs "
    "beside it (a second signature) for 24 hours.",
    responses=problem_responses(401, 403, 404, 429),
)
async def rotate_webhook_secret(
    subscription_id: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> RotatedSecret:
    with _answered():
        secret, until = await service.rotate_secret(
            context.db, context.alerts.box, principal.tenant_scope, subscription_id
        )
    return RotatedSecret(secret, format_instant(until))


@post(
    "/test",
    guards=_GUARD,
    status_code=202,
    summary="Send a ping event to a webhook",
    description="Queued at once; its outcome shows in the deliveries.",
    responses=problem_responses(401, 403, 404, 429),
)
async def test_webhook(
    subscription_id: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Delivery:
    with _answered():
        made = await service.send_ping(context.db, principal.tenant_scope, subscription_id)
    context.alerts.wake()
    return _delivery(made)


@get(
    "/deliveries",
    guards=_GUARD,
    summary="A webhook's deliveries, newest first",
    responses=problem_responses(400, 401, 403, 404, 429),
)
async def list_deliveries(
    subscription: NamedDependency[store.Subscription],
    request: Request[Any, Any, Any],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response[ItemPage[Delivery]]:
    bound = binding("deliveries", {"app": principal.client_id, "webhook": str(subscription.id)})
    position = context.cursors.position(cursor, binding=bound, type=tuple[datetime, UUID])
    async with context.db.read() as connection:
        page, following = await store.list_deliveries(
            connection, principal.tenant_scope, subscription.id, position, limit=limit
        )
    after = None if following is None else [format_instant(following[0]), str(following[1])]
    return context.cursors.answer(request, [_delivery(d) for d in page], after, binding=bound)


@get(
    "/deliveries/{delivery_id:str}",
    guards=_GUARD,
    summary="A delivery and each of its attempts",
    responses=problem_responses(401, 403, 404, 429),
)
async def show_delivery(
    subscription_id: NamedDependency[UUID],
    delivery: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> DeliveryWithAttempts:
    async with context.db.read() as connection:
        scope = principal.tenant_scope
        found = await store.get_delivery(connection, scope, subscription_id, delivery)
        if found is None:
            raise ProblemError(
                404, f"Delivery {delivery} of webhook {subscription_id} was not found."
            )
        attempts = await store.attempts_of(connection, scope, delivery)
    return DeliveryWithAttempts(
        **msgspec.structs.asdict(_delivery(found)),
        attemptLog=[
            DeliveryAttempt(
                a.number,
                format_instant(a.started_at),
                a.duration_ms,
                a.response_status,
                a.error,
                a.response_excerpt,
            )
            for a in attempts
        ],
    )


@post(
    "/deliveries/{delivery_id:str}/redeliver",
    guards=_GUARD,
    status_code=202,
    summary="Deliver again",
    description="The delivery starts again now, with the same event id and a new schedule.",
    responses=problem_responses(401, 403, 404, 429),
)
async def redeliver(
    subscription_id: NamedDependency[UUID],
    delivery: NamedDependency[UUID],
    context: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
) -> Delivery:
    with _answered():
        found = await service.redeliver(
            context.db, principal.tenant_scope, subscription_id, delivery
        )
    context.alerts.wake()
    return _delivery(found)


#: The routes of one subscription are below its id. The guard stays on each route: on a
#: router it would guard the OPTIONS answers too.
ROUTES = [
    Router(
        PREFIX,
        security=SECURITY,
        tags=["alerts"],
        route_handlers=[
            create_webhook,
            list_webhooks,
            Router(
                "/{webhook_id:str}",
                dependencies=_BY_ID,
                route_handlers=[
                    show_webhook,
                    update_webhook,
                    delete_webhook,
                    rotate_webhook_secret,
                    test_webhook,
                    list_deliveries,
                    show_delivery,
                    redeliver,
                ],
            ),
        ],
    )
]
