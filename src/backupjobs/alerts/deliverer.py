"""The Deliverer: sends due webhook deliveries, in every server process (SPEC §10.5).

>>> # deliverer = Deliverer(db, box, allow_private=False, metrics=metrics)
>>> # task = asyncio.create_task(deliverer.run())     # with the application
>>> # deliverer.wake()                                 # after a commit that made deliveries

Each round claims due deliveries (one process per delivery: :func:`.webhooks.claim_due`)
and sends them concurrently: POST with the Standard Webhooks headers, 15 s timeout,
redirects not followed, to the address checked at connection time. A 2xx answer delivers;
anything else, or none, is retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h (each ±20 %), then the delivery is failed; a 410 answer fails it and disables the
subscription. A 2xx from an endpoint that failed an attempt in this process makes the
subscription's other deliveries waiting for a retry due at once: an endpoint back from an
outage gets its backlog in seconds. Every attempt is
recorded (status, duration, the answer's first KiB).

A round runs when woken (an ingestion commit in this process that made deliveries) and
at least every ``poll`` seconds otherwise (others' events, retries, claims left by a
process that died: its lease ends ``LEASE`` after the claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import structlog

from backupjobs import __version__
from backupjobs.alerts.destinations import DestinationError, pinned_request, resolve_destination
from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.alerts.payloads import Event, event_body, render
from backupjobs.infra.secretbox import SecretBox
from backupjobs.model.alerts import DeliveryStatus, EventType, WebhookFormat
from backupjobs.sdk.webhooks import sign
from backupjobs.store import webhooks
from backupjobs.store.database import Database
from backupjobs.store.scope import TenantScope

#: Waits before the 2nd, 3rd, ... attempt; after the last, the delivery is failed.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2
TIMEOUT_SECONDS = 15.0
#: How long a claim holds: past the timeout, so that a live attempt keeps its claim (and
#: short enough that what a dead process held goes out within 30 s of a restart).
LEASE = timedelta(seconds=25)
#: A claimed delivery is sent only if its attempt can start within this of the claim:
#: sending later could outlast the lease, and another process would send it again.
SEND_WITHIN = LEASE - timedelta(seconds=TIMEOUT_SECONDS) - timedelta(seconds=5)
POLL_SECONDS = 1.0
CLAIM_BATCH = 50
#: Database connections the deliverer uses at once in a process: the requests' pool is
#: shared, and 50 attempts in flight must not take it from ingestion.
DATABASE_CONNECTIONS = 3
_log = structlog.get_logger("backupjobs.alerts")


class Deliverer:
    """Sends the due deliveries of ``db``; one per process, started with the app."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        allow_private: bool,
        metrics: AlertMetrics | None = None,
        retry_delays: Sequence[timedelta] = RETRY_DELAYS,
        timeout: float = TIMEOUT_SECONDS,
        poll: float = POLL_SECONDS,
    ) -> None:
        self._db = db
        self._box = box
        self._allow_private = allow_private
        self._metrics = metrics
        self._delays = tuple(retry_delays)
        self._poll = poll
        self._woken = asyncio.Event()
        self._connections = asyncio.Semaphore(DATABASE_CONNECTIONS)
        #: Subscriptions whose endpoint failed an attempt in this process since it last
        #: answered 2xx: their next success brings their waiting retries forward.
        self._failing: set[tuple[UUID, UUID]] = set()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"backupjobs-webhooks/{__version__}"},
        )

    def wake(self) -> None:
        """Run a round now (from this process's event loop)."""
        self._woken.set()

    async def run(self) -> None:
        """Deliver until cancelled; errors are logged and the next round tries again."""
        last_depth = 0.0
        try:
            while True:
                self._woken.clear()
                try:
                    while await self.deliver_due():
                        pass
                    if self._metrics is not None and time.monotonic() - last_depth > 15:
                        last_depth = time.monotonic()
                        async with self._connections, self._db.read() as connection:
                            self._metrics.queue_depth.set(await webhooks.queue_depth(connection))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _log.exception("webhook delivery round failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), timeout=self._poll)
        finally:
            await self._http.aclose()

    async def deliver_due(self) -> int:
        """One round: claim what is due, read what sending it needs (once a round), send
        it all at once, and record each outcome as soon as it is known (before the claim
        could end); the number claimed."""
        now = datetime.now(UTC)
        claimed_at = time.monotonic()
        # Webhook tables only: not announced, or each claim made the job pages forget.
        async with self._connections, self._db.write(announce=False) as connection:
            claimed = await webhooks.claim_due(connection, now=now, lease=LEASE, limit=CLAIM_BATCH)
        if not claimed:
            return 0
        contexts = await self._contexts(claimed)
        if time.monotonic() - claimed_at > SEND_WITHIN.total_seconds():
            # The database is that slow: leave them claimed, due again at the lease's end.
            _log.warning("webhook deliveries not sent: claimed too long ago", count=len(claimed))
            return 0
        await asyncio.gather(
            *(self._attempt(delivery, *contexts[delivery.id]) for delivery in claimed)
        )
        return len(claimed)

    async def _contexts(
        self, claimed: Sequence[webhooks.Claimed]
    ) -> dict[UUID, tuple[webhooks.Subscription | None, str | None]]:
        """Each delivery's subscription, and its customer's name if the subscription's
        app may see the customer now (each read once a round)."""
        subscriptions: dict[tuple[UUID, UUID], webhooks.Subscription | None] = {}
        wanted: dict[TenantScope, set[UUID]] = {}
        async with self._connections, self._db.read() as connection:
            for delivery in claimed:
                key = (delivery.partner_id, delivery.subscription_id)
                if key not in subscriptions:
                    subscriptions[key] = await webhooks.subscription_for_delivery(connection, *key)
                subscription = subscriptions[key]
                if subscription is not None and delivery.customer_id is not None:
                    scope = TenantScope(delivery.partner_id, subscription.client_id)
                    wanted.setdefault(scope, set()).add(delivery.customer_id)
            names = {
                scope: await webhooks.visible_customer_names(connection, scope, sorted(ids))
                for scope, ids in wanted.items()
            }
        found: dict[UUID, tuple[webhooks.Subscription | None, str | None]] = {}
        for delivery in claimed:
            subscription = subscriptions[(delivery.partner_id, delivery.subscription_id)]
            name = None
            if subscription is not None and delivery.customer_id is not None:
                scope = TenantScope(delivery.partner_id, subscription.client_id)
                name = names[scope].get(delivery.customer_id)
            found[delivery.id] = (subscription, name)
        return found

    async def _attempt(
        self,
        claimed: webhooks.Claimed,
        subscription: webhooks.Subscription | None,
        customer_name: str | None,
    ) -> _Outcome | None:
        try:
            outcome = await self._send(claimed, subscription, customer_name)
            if outcome is not None:
                await self._record([outcome])
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left claimed: due again when its lease ends.
            _log.exception("webhook delivery failed unexpectedly", delivery=str(claimed.id))
            return None

    async def _send(
        self,
        claimed: webhooks.Claimed,
        subscription: webhooks.Subscription | None,
        customer_name: str | None,
    ) -> _Outcome | None:
        event_type = EventType(claimed.event_type)
        if subscription is None:
            return None  # deleted: its deliveries went with it
        reason = _skip_reason(subscription, claimed, customer_name, event_type)
        if reason is not None:
            return _Outcome(claimed, DeliveryStatus.SKIPPED, error=reason, counted=False)
        now = datetime.now(UTC)
        event = Event(
            claimed.event_id,
            event_type,
            claimed.event_created_at,
            claimed.customer_id,
            claimed.job_type,
            claimed.job_module,
            claimed.incident_id,
            claimed.job,
            claimed.stale_after_seconds,
        )
        body = render(
            event_body(event, customer_name=customer_name, now=now),
            WebhookFormat(subscription.format),
        )
        timestamp = int(time.time())
        message_id = str(claimed.event_id)
        keys = [self._box.open(subscription.secret)]
        if (
            subscription.previous_secret is not None
            and subscription.previous_secret_until is not None
            and subscription.previous_secret_until > now
        ):
            keys.append(self._box.open(subscription.previous_secret))
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(k, message_id, timestamp, body) for k in keys),
        }
        started = datetime.now(UTC)
        clock = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        try:
            destination = await resolve_destination(
                subscription.url, allow_private=self._allow_private
            )
            url, host, extensions = pinned_request(destination)
            response = await self._http.post(
                url, content=body, headers={**headers, **host}, extensions=extensions
            )
            status = response.status_code
            excerpt = response.text[: webhooks.RESPONSE_EXCERPT_CHARS]
        except DestinationError as refused:
            error = str(refused)
        except httpx.TimeoutException:
            error = "no answer within the timeout"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        outcome, next_at = self._outcome(claimed, status)
        return _Outcome(
            claimed,
            outcome,
            next_at=next_at,
            started=started,
            duration_ms=int((time.perf_counter() - clock) * 1000),
            response_status=status,
            error=error,
            excerpt=excerpt,
        )

    def _outcome(
        self, claimed: webhooks.Claimed, status: int | None
    ) -> tuple[DeliveryStatus, datetime | None]:
        if status is not None and 200 <= status < 300:
            return DeliveryStatus.DELIVERED, None
        if status == 410:
            return DeliveryStatus.FAILED, None
        done = claimed.attempts + 1
        if done > len(self._delays):
            return DeliveryStatus.FAILED, None
        delay = self._delays[done - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
        return DeliveryStatus.PENDING, datetime.now(UTC) + delay

    async def _record(self, outcomes: Sequence[_Outcome]) -> None:
        """Write outcomes in one transaction (each under its claim), disable the
        subscriptions that answered 410, hurry the backlog of endpoints that are back."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        hurried = 0
        gone: list[_Outcome] = []
        attempts = []
        async with self._connections, self._db.write(announce=False) as connection:
            for outcome in outcomes:
                claimed = outcome.claimed
                recorded = await webhooks.finish_attempt(
                    connection,
                    claimed,
                    status=outcome.status,
                    next_attempt_at=outcome.next_at,
                    response_status=outcome.response_status,
                    error=outcome.error,
                    now=now,
                    count_attempt=outcome.counted,
                )
                if not recorded:
                    continue
                if outcome.counted:
                    attempts.append(
                        webhooks.attempt_row(
                            claimed,
                            started_at=outcome.started or now,
                            duration_ms=outcome.duration_ms,
                            response_status=outcome.response_status,
                            error=outcome.error,
                            excerpt=outcome.excerpt,
                        )
                    )
                endpoint = (claimed.partner_id, claimed.subscription_id)
                if outcome.status is DeliveryStatus.DELIVERED:
                    if endpoint in self._failing:
                        self._failing.discard(endpoint)
                        hurried += await webhooks.hurry_backlog(connection, *endpoint, now)
                elif outcome.counted:
                    self._failing.add(endpoint)
                if outcome.response_status == 410:
                    gone.append(outcome)
                    await webhooks.disable_subscription(
                        connection, *endpoint, "the endpoint answered 410 Gone", now
                    )
                self._count(outcome, now)
            await webhooks.add_attempts(connection, attempts)
        if hurried:
            self.wake()
        for outcome in gone:
            _log.warning(
                "webhook subscription disabled: its endpoint answered 410",
                subscription=str(outcome.claimed.subscription_id),
            )

    def _count(self, outcome: _Outcome, now: datetime) -> None:
        if self._metrics is None or not outcome.counted:
            return
        delivered = outcome.status is DeliveryStatus.DELIVERED
        self._metrics.attempts.labels("delivered" if delivered else "error").inc()
        if delivered:
            waited = (now - outcome.claimed.event_created_at).total_seconds()
            self._metrics.latency.observe(max(waited, 0))
        elif outcome.status is DeliveryStatus.FAILED:
            self._metrics.failed.inc()


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What became of one attempt (or of a delivery skipped unsent)."""

    claimed: webhooks.Claimed
    status: DeliveryStatus
    next_at: datetime | None = None
    started: datetime | None = None
    duration_ms: int = 0
    response_status: int | None = None
    error: str | None = None
    excerpt: str | None = None
    counted: bool = True


def _skip_reason(
    subscription: webhooks.Subscription,
    claimed: webhooks.Claimed,
    customer_name: str | None,
    event_type: EventType,
) -> str | None:
    if not subscription.enabled and event_type is not EventType.PING:
        return "the subscription is disabled"
    if claimed.customer_id is None:
        return None
    if customer_name is None:
        return "the customer is outside the subscription app's tenant scope"
    if (
        subscription.customer_ids is not None
        and claimed.customer_id not in subscription.customer_ids
    ):
        return "the customer is no longer in the subscription's customers"
    return None
