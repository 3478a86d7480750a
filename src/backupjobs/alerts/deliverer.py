"""The Deliverer: sends due webhook deliveries, in every server process (SPEC §10.5).

>>> # deliverer = Deliverer(db, box, allow_private=False, metrics=metrics)
>>> # task = asyncio.create_task(deliverer.run())     # with the application
>>> # deliverer.wake()                                 # after a commit that made deliveries

Each round claims due deliveries (one process per delivery: :func:`.webhooks.claim_due`)
and sends them concurrently: POST with the Standard Webhooks headers, 15 s timeout,
redirects not followed, to the address checked for the round. A 2xx answer delivers;
anything else, or none, is retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h (each ±20 %), then the delivery is failed; a 410 answer fails it and disables the
subscription. A 2xx from an endpoint that failed an attempt in this process makes the
subscription's other deliveries waiting for a retry due at once: an endpoint back from an
outage gets its backlog in seconds. Every attempt is
recorded (status, duration, the answer's first KiB).

Deliveries an ingestion in this process made are written claimed for it
(:meth:`Deliverer.claim_here`) and handed over after the commit (:meth:`Deliverer.take`):
the next round sends them with no claim of its own, which costs the database a locking
read, an UPDATE of each delivery and a read of its event (``docs/scaling.md``, "Alerts").
A round runs when woken (such a hand-over, or a commit that made deliveries) and
at least every ``poll`` seconds otherwise (others' events, retries, claims left by a
process that died: its lease ends ``LEASE`` after the claim). A round woken by a
hand-over alone sends what was handed over and claims nothing, unless ``poll`` seconds
have passed since the last claim: an ingesting process hands over after each batch, and
a claim each time was a transaction and a locking read of the due deliveries per batch
that found nothing. A round does not wait for
the attempts it starts: a slow endpoint holds up none of the deliveries claimed after
it, up to ``MAX_SENDING`` attempts in flight. Outcomes are recorded by one task, all
those that came in meanwhile in one transaction (one statement on PostgreSQL): the
deliverer uses at most two database connections, whatever it sends (on PostgreSQL its
own, not the application's pool: :mod:`.runtime`). Requests go out through
:class:`.sender.Sender`, connections kept per destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs import __version__
from backupjobs.alerts.destinations import Destination, DestinationError, resolve_destination
from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.alerts.payloads import event_body, render
from backupjobs.alerts.sender import Sender, SendError
from backupjobs.infra.secretbox import SecretBox
from backupjobs.infra.tasks import stop
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
#: Attempts in flight at once in a process; past it, rounds wait for one to end.
MAX_SENDING = 200
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
        self._timeout = timeout
        self._poll = poll
        self._woken = asyncio.Event()
        #: Woken by more than a hand-over: the next round claims what is due.
        self._claim_wanted = True
        self._claimed_at = 0.0
        self._sending: set[asyncio.Task[None]] = set()
        #: Each round's destinations being resolved: once a URL a round, however many of
        #: its deliveries go there (and checked again by the next round: DNS answers
        #: change). A lookup per delivery was a thread's getaddrinfo each time.
        self._resolving: set[asyncio.Task[Destination]] = set()
        #: A round found no room for more attempts: the next attempt to end wakes the loop.
        self._full = False
        #: Outcomes not recorded yet, and the task recording them (one at a time).
        self._finished: list[webhooks.Outcome] = []
        self._recorder: asyncio.Task[None] | None = None
        #: Subscriptions whose endpoint failed an attempt in this process since it last
        #: answered 2xx: their next success brings their waiting retries forward.
        self._failing: set[tuple[UUID, UUID]] = set()
        self._sender = Sender(user_agent=f"backupjobs-webhooks/{__version__}")
        #: Committed deliveries written claimed for this process, not sent yet (:meth:`take`).
        self._handed: deque[webhooks.ClaimedHere] = deque()

    def wake(self) -> None:
        """Run a round now, claiming what is due (from this process's event loop)."""
        self._claim_wanted = True
        self._woken.set()

    def claim_here(self) -> webhooks.ClaimedHere:
        """A claim for deliveries a transaction of this process is about to write, to be
        sent by this deliverer once it has committed (:meth:`take`)."""
        return webhooks.ClaimedHere(
            uuid.uuid4(), datetime.now(UTC) + LEASE, made_at=time.monotonic()
        )

    def take(self, claimed: webhooks.ClaimedHere) -> None:
        """Send the deliveries of a committed transaction that wrote them claimed for this
        process (:meth:`claim_here`), in the next round, with no claim of their own."""
        if claimed.deliveries:
            self._handed.append(claimed)
            self._woken.set()

    async def run(self) -> None:
        """Deliver until cancelled; errors are logged and the next round tries again.
        Attempts cut short are left claimed: due again when their lease ends."""
        last_depth = 0.0
        try:
            while True:
                self._woken.clear()
                claim = self._claim_wanted or time.monotonic() - self._claimed_at >= self._poll
                self._claim_wanted = False
                try:
                    while await self.deliver_due(claim=claim):
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
            for task in [*self._sending, self._recorder, *self._resolving]:
                await stop(task)
            await self._sender.close()

    async def deliver_due(self, *, claim: bool = True) -> bool:
        """One round: start sending what was handed over, then (``claim``) claim what is
        due (as much as there is room for) and read what sending it needs, in one
        transaction, and start sending it; True when more may be due at once (the round
        claimed all it asked for)."""
        room = MAX_SENDING - len(self._sending)
        if room > 0 and self._handed:
            handed = self._handed_over(room)
            if handed:
                async with self._db.read() as connection:
                    self._start(handed, await self._contexts(connection, handed))
                room -= len(handed)
        if room <= 0:
            self._full = True
            return False
        if not claim:
            return False
        limit = min(CLAIM_BATCH, room)
        claimed_at = self._claimed_at = time.monotonic()
        async with self._db.write() as connection:
            claimed = await webhooks.claim_due(
                connection, now=datetime.now(UTC), lease=LEASE, limit=limit
            )
            contexts = await self._contexts(connection, claimed)
        if not claimed:
            return False
        if time.monotonic() - claimed_at > SEND_WITHIN.total_seconds():
            # The database is that slow: leave them claimed, due again at the lease's end.
            _log.warning("webhook deliveries not sent: claimed too long ago", count=len(claimed))
            return False
        self._start(claimed, contexts)
        return len(claimed) == limit

    def _handed_over(self, room: int) -> list[webhooks.Claimed]:
        """Up to ``room`` of the deliveries handed over (:meth:`take`), oldest first; those
        whose attempt could no longer start within :data:`SEND_WITHIN` of their claim are
        let go (due again when their lease ends, for any process)."""
        taken: list[webhooks.Claimed] = []
        now = time.monotonic()
        while self._handed and len(taken) < room:
            claimed = self._handed[0]
            if now - claimed.made_at > SEND_WITHIN.total_seconds():
                self._handed.popleft()
                _log.warning(
                    "webhook deliveries not sent: claimed too long ago",
                    count=len(claimed.deliveries),
                )
                continue
            wanted = room - len(taken)
            taken += claimed.deliveries[:wanted]
            del claimed.deliveries[:wanted]
            if not claimed.deliveries:
                self._handed.popleft()
        return taken

    def _start(
        self,
        claimed: Sequence[webhooks.Claimed],
        contexts: dict[UUID, tuple[webhooks.Subscription | None, str | None]],
    ) -> None:
        resolving: dict[str, asyncio.Task[Destination]] = {}
        for delivery in claimed:
            subscription, customer_name = contexts[delivery.id]
            destination = None
            if subscription is not None:
                destination = resolving.get(subscription.url)
                if destination is None:
                    destination = resolving[subscription.url] = self._resolve(subscription.url)
            task = asyncio.create_task(
                self._attempt(delivery, subscription, customer_name, destination)
            )
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _resolve(self, url: str) -> asyncio.Task[Destination]:
        task = asyncio.create_task(resolve_destination(url, allow_private=self._allow_private))
        self._resolving.add(task)
        task.add_done_callback(self._resolved)
        return task

    def _resolved(self, task: asyncio.Task[Destination]) -> None:
        self._resolving.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the attempts that await it report it

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._full:
            self._full = False
            self.wake()

    async def _contexts(
        self, connection: AsyncConnection, claimed: Sequence[webhooks.Claimed]
    ) -> dict[UUID, tuple[webhooks.Subscription | None, str | None]]:
        """Each delivery's subscription, and its customer's name if the subscription's
        app may see the customer now (each read once a round)."""
        subscriptions: dict[tuple[UUID, UUID], webhooks.Subscription | None] = {}
        wanted: dict[TenantScope, set[UUID]] = {}
        for delivery in claimed:
            key = (delivery.partner_id, delivery.subscription_id)
            if key not in subscriptions:
                subscriptions[key] = await webhooks.subscription_for_delivery(connection, *key)
            subscription = subscriptions[key]
            if subscription is not None and delivery.event.customer_id is not None:
                scope = TenantScope(delivery.partner_id, subscription.client_id)
                wanted.setdefault(scope, set()).add(delivery.event.customer_id)
        names = {
            scope: await webhooks.visible_customers(connection, scope, sorted(ids))
            for scope, ids in wanted.items()
        }
        found: dict[UUID, tuple[webhooks.Subscription | None, str | None]] = {}
        for delivery in claimed:
            subscription = subscriptions[(delivery.partner_id, delivery.subscription_id)]
            name = None
            if subscription is not None and delivery.event.customer_id is not None:
                scope = TenantScope(delivery.partner_id, subscription.client_id)
                name = names[scope].get(delivery.event.customer_id)
            found[delivery.id] = (subscription, name)
        return found

    async def _attempt(
        self,
        claimed: webhooks.Claimed,
        subscription: webhooks.Subscription | None,
        customer_name: str | None,
        destination: asyncio.Task[Destination] | None,
    ) -> None:
        try:
            outcome = await self._send(claimed, subscription, customer_name, destination)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left claimed: due again when its lease ends.
            _log.exception("webhook delivery failed unexpectedly", delivery=str(claimed.id))
            return
        if outcome is None:
            return
        self._finished.append(outcome)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_finished())

    async def _record_finished(self) -> None:
        """Record the outcomes that have come in, as many at a time as came in while the
        last ones were being recorded."""
        while self._finished:
            outcomes, self._finished = self._finished, []
            try:
                await self._record(outcomes)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Left claimed: sent again (same id) when their lease ends.
                _log.exception("webhook outcomes not recorded", count=len(outcomes))

    async def _send(
        self,
        claimed: webhooks.Claimed,
        subscription: webhooks.Subscription | None,
        customer_name: str | None,
        destination: asyncio.Task[Destination] | None,
    ) -> webhooks.Outcome | None:
        """The outcome of an attempt at ``claimed``, sent to ``destination`` (its
        subscription's URL, being resolved for the round); None if the subscription is
        gone."""
        event = claimed.event
        event_type = EventType(event.type)
        if subscription is None or destination is None:
            return None  # deleted: its deliveries went with it
        reason = _skip_reason(subscription, event, customer_name, event_type)
        if reason is not None:
            return webhooks.Outcome(claimed, DeliveryStatus.SKIPPED, error=reason, counted=False)
        now = datetime.now(UTC)
        body = render(
            event_body(event, customer_name=customer_name, now=now),
            WebhookFormat(subscription.format),
        )
        timestamp = int(time.time())
        message_id = str(event.id)
        keys = [self._box.open(subscription.secret)]
        if (
            subscription.previous_secret is not None
            and subscription.previous_secret_until is not None
            and subscription.previous_secret_until > now
        ):
            keys.append(self._box.open(subscription.previous_secret))
        headers = [
            ("Content-Type", "application/json"),
            ("webhook-id", message_id),
            ("webhook-timestamp", str(timestamp)),
            ("webhook-signature", " ".join(sign(k, message_id, timestamp, body) for k in keys)),
        ]
        started = datetime.now(UTC)
        clock = time.perf_counter()
        status: int | None = None
        error: str | None = None
        excerpt: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                # Shielded: the other attempts of the round may still be waiting for it.
                address = await asyncio.shield(destination)
                answer = await self._sender.post(address, headers, body)
            status = answer.status
            excerpt = answer.excerpt
        except DestinationError as refused:
            error = str(refused)
        except TimeoutError:
            error = "no answer within the timeout"
        except SendError as failure:
            error = str(failure)[:500]
        outcome, next_at = self._outcome(claimed, status)
        return webhooks.Outcome(
            claimed,
            outcome,
            next_attempt_at=next_at,
            started_at=started,
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

    async def _record(self, outcomes: Sequence[webhooks.Outcome]) -> None:
        """Write outcomes in one transaction (each under its claim), disable the
        subscriptions that answered 410, hurry the backlog of endpoints that are back."""
        now = datetime.now(UTC)
        hurried = 0
        gone: list[webhooks.Outcome] = []
        async with self._db.write() as connection:
            recorded = await webhooks.finish_attempts(connection, outcomes, now=now)
            for outcome in recorded:
                claimed = outcome.claimed
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
        if hurried:
            self.wake()
        for outcome in gone:
            _log.warning(
                "webhook subscription disabled: its endpoint answered 410",
                subscription=str(outcome.claimed.subscription_id),
            )

    def _count(self, outcome: webhooks.Outcome, now: datetime) -> None:
        if self._metrics is None or not outcome.counted:
            return
        delivered = outcome.status is DeliveryStatus.DELIVERED
        self._metrics.attempts.labels("delivered" if delivered else "error").inc()
        if delivered:
            waited = (now - outcome.claimed.event.created_at).total_seconds()
            self._metrics.latency.observe(max(waited, 0))
        elif outcome.status is DeliveryStatus.FAILED:
            self._metrics.failed.inc()


def _skip_reason(
    subscription: webhooks.Subscription,
    event: webhooks.StoredEvent,
    customer_name: str | None,
    event_type: EventType,
) -> str | None:
    if not subscription.enabled and event_type is not EventType.PING:
        return "the subscription is disabled"
    if event.customer_id is None:
        return None
    if customer_name is None:
        return "the customer is outside the subscription app's tenant scope"
    if subscription.customer_ids is not None and event.customer_id not in subscription.customer_ids:
        return "the customer is no longer in the subscription's customers"
    return None
