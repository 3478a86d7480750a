"""Rate limits: per app on the resource APIs, per client and per address on the token endpoint.

>>> # limiter = RateLimiter.from_settings(settings)
>>> # usage = await limiter.hit(limiter.app, principal.client_id)
>>> # usage.limited, ratelimit_headers([usage])

Each policy allows ``quota`` requests per ``window`` seconds to each subject (an app's
client id, or a client address). A window starts at the subject's first request and the
count starts again when it ends. Counters live in Redis when ``BACKUPJOBS_REDIS_URL`` is
set (one script per request, shared by every process; see
:mod:`backupjobs.infra.redis_counters`), in
this process otherwise. A subject's counter is its own: one partner using up its quota
never touches another's.

Responses carry the fields of draft-ietf-httpapi-ratelimit-headers-11::

    RateLimit-Policy: "app";q=3000;w=60
    RateLimit: "app";r=2999;t=60

``r`` is what is left of the quota and ``t`` the seconds until the window ends. A request
over the quota gets 429 problem+json with ``Retry-After: t`` and ``r=0``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from backupjobs.api.bearer import verified
from backupjobs.api.metrics import EXTRA_HEADERS
from backupjobs.api.problems import send_error
from backupjobs.auth.tokens import Principal, TokenVerifier
from backupjobs.infra.redis_counters import RedisCounters
from backupjobs.settings import Settings

if TYPE_CHECKING:  # .basic imports this module
    from backupjobs.api.basic import BasicSignIn

APP_POLICY = "app"
TOKEN_CLIENT_POLICY = "token-client"  # noqa: S105 - a policy name
TOKEN_ADDRESS_POLICY = "token-address"  # noqa: S105 - a policy name


@dataclass(frozen=True, slots=True)
class Policy:
    """``quota`` requests per ``window`` seconds for each subject; quota 0: no limit."""

    name: str
    quota: int
    window: int

    @property
    def enabled(self) -> bool:
        return self.quota > 0

    def field_item(self) -> str:
        """This policy as an item of the ``RateLimit-Policy`` field."""
        return f'"{self.name}";q={self.quota};w={self.window}'

    def key(self, subject: str) -> str:
        """The counter of ``subject`` under this policy."""
        return f"{self.name}:{subject}"

    def usage(self, used: int, left_ms: int) -> Usage:
        return Usage(self, used, max(1, -(-left_ms // 1000)))


class Usage(NamedTuple):
    """One request counted under a policy: the count in the window and the time left."""

    policy: Policy
    #: Requests counted in the window so far, this one included.
    used: int
    #: Seconds until the window ends (the field's effective window ``t``), at least 1.
    reset: int

    @property
    def limited(self) -> bool:
        return self.used > self.policy.quota

    @property
    def remaining(self) -> int:
        return max(self.policy.quota - self.used, 0)

    def field_item(self) -> str:
        """This usage as an item of the ``RateLimit`` field."""
        return f'"{self.policy.name}";r={self.remaining};t={self.reset}'

    def refusal(self, subject: str) -> str:
        """The detail of a 429: which quota, and when to come back."""
        policy = self.policy
        return (
            f"Too many requests {subject}: the quota is {policy.quota} requests per "
            f"{policy.window} s (policy {policy.name}); retry in {self.reset} s."
        )


def ratelimit_headers(usages: Sequence[Usage]) -> dict[str, str]:
    """``RateLimit``, ``RateLimit-Policy`` and, if any usage is limited, ``Retry-After``."""
    if not usages:
        return {}
    headers = {
        "RateLimit": ", ".join(usage.field_item() for usage in usages),
        "RateLimit-Policy": ", ".join(usage.policy.field_item() for usage in usages),
    }
    waits = [usage.reset for usage in usages if usage.limited]
    if waits:
        headers["Retry-After"] = str(max(waits))
    return headers


class Counters(Protocol):
    async def hit(self, key: str, window_ms: int) -> tuple[int, int] | None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalCounters:
    """Window counters in this process: a dict lookup per request.

    Ended windows are swept out whenever the dict has doubled since the last sweep, so
    memory follows the subjects active in the last window.
    """

    def __init__(self) -> None:
        # key -> [count, monotonic time the window ends]
        self._windows: dict[str, list[float]] = {}
        self._sweep_at = 1024

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._windows.clear()

    async def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        return self.count(key, window_ms)

    def count(self, key: str, window_ms: int) -> tuple[int, int]:
        """:meth:`hit` without the coroutine, for the per-request path."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or window[1] <= now:
            if len(self._windows) >= self._sweep_at:
                self._sweep(now)
            window = [0, now + window_ms / 1000]
            self._windows[key] = window
        window[0] += 1
        return int(window[0]), int((window[1] - now) * 1000)

    def _sweep(self, now: float) -> None:
        self._windows = {key: w for key, w in self._windows.items() if w[1] > now}
        self._sweep_at = max(1024, 2 * len(self._windows))


class RateLimiter:
    """The three policies and the counters they share."""

    def __init__(
        self, counters: Counters, *, app: Policy, token_client: Policy, token_address: Policy
    ) -> None:
        self.counters = counters
        self.app = app
        self.token_client = token_client
        self.token_address = token_address

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        counters: Counters = (
            RedisCounters(settings.redis_url, prefix=settings.redis_key_prefix + "ratelimit:")
            if settings.redis_url
            else LocalCounters()
        )
        window = settings.rate_limit_window
        return cls(
            counters,
            app=Policy(APP_POLICY, settings.rate_limit_app, window),
            token_client=Policy(TOKEN_CLIENT_POLICY, settings.rate_limit_token_client, window),
            token_address=Policy(TOKEN_ADDRESS_POLICY, settings.rate_limit_token_address, window),
        )

    async def hit(self, policy: Policy, subject: str) -> Usage | None:
        """Count a request of ``subject``; None if the policy is off or Redis unavailable."""
        if not policy.enabled:
            return None
        counted = await self.counters.hit(policy.key(subject), policy.window * 1000)
        return None if counted is None else policy.usage(*counted)


def per_app_limit(
    limiter: RateLimiter, verifier: TokenVerifier, basic: BasicSignIn | None = None
) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware counting every request made with an app's valid access token.

    The ``RateLimit`` fields of an allowed request are left in ``scope[EXTRA_HEADERS]``
    for :meth:`Metrics.middleware <backupjobs.api.metrics.Metrics.middleware>`, outside
    this one, to add to the response.

    Requests without a valid token (or, on the OData services, valid Basic credentials:
    ``basic``) pass through uncounted (they get 401 anyway). The credentials are verified
    here, once for the request: authentication reuses the outcome (:mod:`.bearer`).
    """
    policy, counters = limiter.app, limiter.counters
    # In-process counting needs no coroutine: a few microseconds count on this path.
    local = counters if isinstance(counters, LocalCounters) else None
    window_ms = policy.window * 1000
    # Built once: the fields cost a formatting of two integers per request.
    policy_field = (b"ratelimit-policy", policy.field_item().encode())
    usage_format = f'"{policy.name}";r=%d;t=%d'.encode()

    def middleware(app: ASGIApp) -> ASGIApp:
        if not policy.enabled:
            return app

        async def limit(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            principal = await verified(scope, verifier, basic)
            if not isinstance(principal, Principal):
                await app(scope, receive, send)
                return
            key = policy.key(principal.client_id)
            counted = (
                local.count(key, window_ms)
                if local is not None
                else await counters.hit(key, window_ms)
            )
            if counted is None:
                await app(scope, receive, send)
                return
            usage = policy.usage(*counted)
            if usage.limited:
                await _send_too_many_requests(
                    scope, send, usage.refusal("for this app"), ratelimit_headers([usage])
                )
                return
            scope[EXTRA_HEADERS] = (  # type: ignore[literal-required]
                (b"ratelimit", usage_format % (usage.remaining, usage.reset)),
                policy_field,
            )
            await app(scope, receive, send)

        return limit

    return middleware


async def _send_too_many_requests(
    scope: Scope, send: Send, detail: str, headers: dict[str, str]
) -> None:
    await send_error(scope, send, 429, detail, headers=headers)
