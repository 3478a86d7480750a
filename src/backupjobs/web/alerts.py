"""The Alerts pages (admins): the partner's webhook subscriptions, create, test, disable
and enable, and each one's delivery log.

Everything goes through :mod:`backupjobs.alerts.service` and :mod:`backupjobs.store.webhooks`
(the same functions as ``/api/v1/webhooks``) with the whole partner's tenant scope: a
subscription made here hears of every customer of the partner. A viewer gets a 403 page;
another partner's subscription is the 404 page of one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from backupjobs.alerts import service
from backupjobs.api.context import AppContext, app_context
from backupjobs.auth.users import User
from backupjobs.infra.cursors import InvalidCursorError, binding
from backupjobs.model.alerts import EventType, WebhookFormat
from backupjobs.model.durations import format_iso_duration, parse_duration
from backupjobs.store import webhooks
from backupjobs.store.scope import TenantScope
from backupjobs.web.render import page
from backupjobs.web.session import PATH, Form, PageError, checked_form, current_user

SUBSCRIPTIONS_SHOWN = 200
DELIVERIES_PER_PAGE = 25
#: Event types a subscription may ask for (a ping is sent on request only).
EVENT_TYPES = [event for event in EventType if event is not EventType.PING]


async def admin(request: Request[Any, Any, Any]) -> User:
    """The signed-in user if an admin (the ``user`` dependency here); else a 403 page."""
    user = await current_user(request)
    if not user.is_admin:
        raise PageError(403, "Only the partner's dashboard admins manage alerts.")
    return user


ADMIN = {"user": Provide(admin)}
ADMIN_FORM = {"user": Provide(admin), "form": Provide(checked_form)}


def _subscription_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise PageError(404, "There is no webhook with this id.") from None


async def _subscription(
    request: Request[Any, Any, Any], user: User, raw: str
) -> tuple[AppContext, TenantScope, webhooks.Subscription]:
    """The path's subscription if the user's partner has it, with the context and tenant
    scope to act on it; else the 404 page, the same for another partner's."""
    context = app_context(request)
    scope = TenantScope.whole_partner(user.partner_id)
    try:
        found = await service.get_subscription(context.db, scope, _subscription_id(raw))
    except service.UnknownError:
        raise PageError(404, "There is no webhook with this id.") from None
    return context, scope, found


def _events_of(subscription: webhooks.Subscription) -> list[str]:
    return [event.value for event in EVENT_TYPES if subscription.event_mask & event.bit]


async def _alerts_page(
    request: Request[Any, Any, Any],
    user: User,
    *,
    status: int = 200,
    error: str | None = None,
    secret: str | None = None,
    form: Form | None = None,
    chosen_events: list[str] | None = None,
) -> Response[Any]:
    context = app_context(request)
    scope = TenantScope.whole_partner(user.partner_id)
    async with context.db.read() as connection:
        subscriptions, _ = await webhooks.list_subscriptions(
            connection, scope, None, limit=SUBSCRIPTIONS_SHOWN
        )
    return page(
        request,
        "alerts.html.j2",
        user=user,
        status=status,
        subscriptions=[
            {"it": subscription, "events": _events_of(subscription)}
            for subscription in subscriptions
        ],
        event_types=EVENT_TYPES,
        formats=list(WebhookFormat),
        default_stale_after=format_iso_duration(context.settings.stale_after),
        error=error,
        secret=secret,
        form=form or {},
        chosen_events=chosen_events,
    )


@get("/alerts", dependencies=ADMIN, name="dashboard:alerts")
async def alerts(request: Request[Any, Any, Any], user: NamedDependency[User]) -> Response[Any]:
    return await _alerts_page(request, user)


@post("/alerts", dependencies=ADMIN_FORM, name="dashboard:alerts-create", status_code=200)
async def create(
    request: Request[Any, Any, Any], user: NamedDependency[User], form: NamedDependency[Form]
) -> Response[Any]:
    """A new subscription; the page shows its signing secret, once."""
    context = app_context(request)
    raw_events = list((await request.form()).getall("events", []))
    try:
        events = [EventType(value) for value in raw_events if value != EventType.PING.value]
        chosen_format = WebhookFormat(form.get("format") or WebhookFormat.STANDARD.value)
    except ValueError:
        return await _alerts_page(
            request,
            user,
            status=400,
            error="Unknown event type or format.",
            form=form,
            chosen_events=raw_events,
        )
    try:
        stale_text = form.get("stale_after", "").strip()
        stale_after = parse_duration(stale_text) if stale_text else None
    except ValueError as error:
        return await _alerts_page(
            request,
            user,
            status=400,
            error=f"Stale after: {error}",
            form=form,
            chosen_events=raw_events,
        )
    spec = service.SubscriptionSpec(
        url=form.get("url", "").strip(),
        events=events,
        stale_after=stale_after,
        format=chosen_format,
        description=form.get("description", "").strip(),
    )
    try:
        _, secret = await service.create_subscription(
            context.db,
            context.alerts.box,
            TenantScope.whole_partner(user.partner_id),
            spec,
            allow_private=context.alerts.allow_private,
            default_stale_after=context.settings.stale_after,
        )
    except (service.InvalidSubscriptionError, service.UnknownError) as error:
        return await _alerts_page(
            request, user, status=400, error=str(error), form=form, chosen_events=raw_events
        )
    return await _alerts_page(request, user, secret=secret)


@get("/alerts/{subscription:str}", dependencies=ADMIN, name="dashboard:webhook")
async def webhook(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    subscription: FromPath[str],
    cursor: Annotated[str | None, QueryParameter(required=False, max_length=600)] = None,
) -> Response[Any]:
    """A subscription and its delivery log, newest first."""
    context, scope, found = await _subscription(request, user, subscription)
    bound = binding("dashboard-deliveries", {"webhook": str(found.id)})
    position = None
    if cursor is not None:
        try:
            position = context.cursors.codec.decode(
                cursor, binding=bound, type=tuple[datetime, UUID]
            )
        except InvalidCursorError:
            raise PageError(
                400, "This page's link is not valid: start from the first page."
            ) from None
    async with context.db.read() as connection:
        deliveries, next_position = await webhooks.list_deliveries(
            connection, scope, found.id, position, limit=DELIVERIES_PER_PAGE
        )
    next_link = None
    if next_position is not None:
        next_link = f"{request.url.path}?" + urlencode(
            {"cursor": context.cursors.codec.encode(next_position, binding=bound)}
        )
    return page(
        request,
        "webhook.html.j2",
        user=user,
        it=found,
        events=_events_of(found),
        deliveries=deliveries,
        next_link=next_link,
        first_link=request.url.path if cursor else None,
        poll_seconds=5,
    )


@post(
    "/alerts/{subscription:str}/test",
    dependencies=ADMIN_FORM,
    name="dashboard:webhook-test",
    status_code=303,
)
async def test(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    form: NamedDependency[Form],
    subscription: FromPath[str],
) -> Redirect:
    """Send a ``ping`` now; its delivery shows in the log."""
    del form  # checked: the CSRF token
    context, scope, found = await _subscription(request, user, subscription)
    await service.send_ping(context.db, scope, found.id)
    return Redirect(f"{PATH}/alerts/{found.id}", status_code=303)


@post(
    "/alerts/{subscription:str}/enabled",
    dependencies=ADMIN_FORM,
    name="dashboard:webhook-enable",
    status_code=303,
)
async def set_enabled(
    request: Request[Any, Any, Any],
    user: NamedDependency[User],
    form: NamedDependency[Form],
    subscription: FromPath[str],
) -> Redirect:
    """Disable (``enabled=false``) or enable a subscription."""
    context, scope, found = await _subscription(request, user, subscription)
    enabled = form.get("enabled") == "true"
    try:
        await service.update_subscription(
            context.db,
            scope,
            found.id,
            service.SubscriptionSpec(enabled=enabled),
            allow_private=context.alerts.allow_private,
        )
    except service.UnknownError:
        raise PageError(404, "There is no webhook with this id.") from None
    return Redirect(f"{PATH}/alerts/{found.id}", status_code=303)


ROUTES = [alerts, create, webhook, test, set_enabled]
