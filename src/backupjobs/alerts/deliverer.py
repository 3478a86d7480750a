"""The Deliverer: sends due webhook deliveries, in every server process (SPEC §10.5).

>>> # deliverer = Deliverer(db, box, allow_private=False, metrics=metrics)
>>> # task = asyncio.create_task(deliverer.run())     # with the application
>>> # deliverer.wake()                                 # after a commit that made deliveries

Each round claims due deliveries (one process per delivery: :func:`.webhooks.claim_due`)
and sends them concurrently: POST with the Standard Webhooks headers, 15 s timeout,
redirects not followed, to the address checked at connection time. A 2xx answer delivers;
anything else, or none, is retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h (each ±20 %), then the delivery is failed; a 410 answer fails it and disables the
subscription. Every attempt is recorded (status, duration, the answer's first KiB).

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
from datetime import UTC, datetime, timedelta

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
#: How long a claim holds: past the timeout, so that a live attempt keeps its claim.
LEASE = timedelta(seconds=20)
POLL_SECONDS = 1.0
CLAIM_BATCH = 50
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
                        async with self._db.read() as connection:
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
        """One round: claim what is due and send it; the number claimed."""
        now = datetime.now(UTC)
        async with self._db.write() as connection:
            claimed = await webhooks.claim_due(connection, now=now, lease=LEASE, limit=CLAIM_BATCH)
        if claimed:
            await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        return len(claimed)

    async def _attempt(self, claimed: webhooks.Claimed) -> None:
        try:
            await self._send(claimed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left claimed: due again when its lease ends.
            _log.exception("webhook delivery failed unexpectedly", delivery=str(claimed.id))

    async def _send(self, claimed: webhooks.Claimed) -> None:
        event_type = EventType(claimed.event_type)
        async with self._db.read() as connection:
            subscription = await webhooks.subscription_for_delivery(
                connection, claimed.partner_id, claimed.subscription_id
            )
            customer_name = None
            if subscription is not None and claimed.customer_id is not None:
                customer_name = await webhooks.customer_name_if_visible(
                    connection,
                    TenantScope(claimed.partner_id, subscription.client_id),
                    claimed.customer_id,
                )
        if subscription is None:
            return  # deleted: its deliveries went with it
        reason = _skip_reason(subscription, claimed, customer_name, event_type)
        if reason is not None:
            await self._finish(claimed, DeliveryStatus.SKIPPED, error=reason, counted=False)
            return
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
        duration_ms = int((time.perf_counter() - clock) * 1000)
        outcome, next_at = self._outcome(claimed, status)
        recorded = await self._finish(
            claimed,
            outcome,
            next_at=next_at,
            started=started,
            duration_ms=duration_ms,
            response_status=status,
            error=error,
            excerpt=excerpt,
            gone=status == 410,
        )
        if recorded and self._metrics is not None:
            self._metrics.attempts.labels(
                "delivered" if outcome is DeliveryStatus.DELIVERED else "error"
            ).inc()
            if outcome is DeliveryStatus.DELIVERED:
                self._metrics.latency.observe(
                    max((datetime.now(UTC) - claimed.event_created_at).total_seconds(), 0)
                )
            elif outcome is DeliveryStatus.FAILED:
                self._metrics.failed.inc()

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

    async def _finish(
        self,
        claimed: webhooks.Claimed,
        status: DeliveryStatus,
        *,
        next_at: datetime | None = None,
        started: datetime | None = None,
        duration_ms: int = 0,
        response_status: int | None = None,
        error: str | None = None,
        excerpt: str | None = None,
        gone: bool = False,
        counted: bool = True,
    ) -> bool:
        now = datetime.now(UTC)
        async with self._db.write() as connection:
            recorded = await webhooks.finish_attempt(
                connection,
                claimed,
                status=status,
                next_attempt_at=next_at,
                started_at=started or now,
                duration_ms=duration_ms,
                response_status=response_status,
                error=error,
                excerpt=excerpt,
                now=now,
                count_attempt=counted,
            )
            if recorded and gone:
                await webhooks.disable_subscription(
                    connection,
                    claimed.partner_id,
                    claimed.subscription_id,
                    "the endpoint answered 410 Gone",
                    now,
                )
        if gone and recorded:
            _log.warning(
                "webhook subscription disabled: its endpoint answered 410",
                subscription=str(claimed.subscription_id),
            )
        return recorded


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
