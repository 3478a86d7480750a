"""When to try a request again, and how long to wait first.

>>> from backupjobs.sdk import Retry
>>> patient = Retry(attempts=6, max_wait=120)
>>> never = Retry(attempts=1)

Answers 429 (over the rate limit) and 503 (unavailable) and requests that got no answer
at all (connection refused or reset, timeouts) are tried again, up to ``attempts`` tries
in all. The wait honours ``Retry-After`` when the answer has one, plus a little jitter so
that many clients do not come back at the same instant; otherwise it grows exponentially
from ``backoff`` (doubling, up to ``max_backoff``), half of it random. An answer asking
for a longer wait than ``max_wait`` is raised at once, with ``retry_after`` on the
exception, rather than retried early against the service's wish.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backupjobs.sdk.errors import ConfigurationError

RETRY_STATUSES = frozenset({429, 503})
#: Server errors a long-running reader may also try again (``Retry(statuses=RETRY_STATUSES
#: | SERVER_ERRORS)``): every call of this client is a read, so a retry is harmless.
SERVER_ERRORS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Retry:
    """A bounded retry policy; the defaults wait at most about a minute per try."""

    #: Tries of one request in all, the first included (1: never retry).
    attempts: int = 4
    #: The first wait, in seconds, when the answer gives no ``Retry-After``.
    backoff: float = 0.5
    #: The longest exponential wait.
    max_backoff: float = 30.0
    #: The longest wait accepted; a ``Retry-After`` over it ends the retries.
    max_wait: float = 60.0
    #: The statuses worth another try.
    statuses: frozenset[int] = RETRY_STATUSES
    #: The source of jitter (replace it to make waits reproducible in a test).
    rng: random.Random = field(default_factory=random.SystemRandom, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigurationError(f"Retry.attempts must be at least 1, not {self.attempts}")
        for name in ("backoff", "max_backoff", "max_wait"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"Retry.{name} must not be negative")

    def wait(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait after try number ``attempt`` (from 1) failed, or None to stop.

        ``retry_after`` is the answer's ``Retry-After`` in seconds, if it had one.
        """
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            # Never earlier than asked; the jitter spreads clients told the same moment.
            delay = retry_after + self.rng.uniform(0, min(self.backoff, 1.0))
            return delay if retry_after <= self.max_wait else None
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return min(ceiling / 2 + self.rng.uniform(0, ceiling / 2), self.max_wait)
