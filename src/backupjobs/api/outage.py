"""What a database outage looks like in the logs: a line when it starts, a summary now
and then while it lasts, a line when it ends; never a line per refused request.

>>> # outage = OutageLog(db.ping)
>>> # outage.refused(error)       # each request answered 503 for want of the database

The first refusal logs that the database is unavailable and starts a probe, which asks the
database every :data:`PROBE_SECONDS` until it answers, then logs that it is available again
(with the outage's length and the requests refused). Refusals in between are counted, and
summed up in a line at most every :data:`SUMMARY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

#: Key of the application's :class:`OutageLog` in its state (read by the error handlers).
STATE_KEY = "outage"
#: Seconds between two "still unavailable" lines.
SUMMARY_SECONDS = 30.0
#: Seconds between two probes of the database while it is unavailable.
PROBE_SECONDS = 1.0


class OutageLog:
    """One process's view of a database outage, logged as it changes."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[None]],
        *,
        summary_seconds: float = SUMMARY_SECONDS,
        probe_seconds: float = PROBE_SECONDS,
        log: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._summary_seconds = summary_seconds
        self._probe_seconds = probe_seconds
        self._log = log if log is not None else structlog.get_logger("backupjobs.database")
        self._clock = clock
        self._since: float | None = None  # the outage's start, None while there is none
        self._summary_from = 0.0
        self._refused_since_summary = 0
        self._refused = 0
        self._prober: asyncio.Task[None] | None = None

    @property
    def unavailable(self) -> bool:
        return self._since is not None

    def refused(self, error: BaseException) -> None:
        """A request was refused for want of the database (``error`` says why)."""
        now = self._clock()
        self._refused += 1
        if self._since is None:
            self._since = self._summary_from = now
            self._refused_since_summary = 0
            self._log.warning(
                "database unavailable: requests that need it answer 503 until it is back",
                error=type(error).__name__,
            )
            self._prober = asyncio.get_running_loop().create_task(self._until_available())
            return
        self._refused_since_summary += 1
        if now - self._summary_from >= self._summary_seconds:
            self._log.warning(
                "database still unavailable",
                refused=self._refused_since_summary,
                seconds=round(now - self._summary_from),
                unavailable_for=round(now - self._since),
            )
            self._summary_from = now
            self._refused_since_summary = 0

    async def _until_available(self) -> None:
        while True:
            await asyncio.sleep(self._probe_seconds)
            try:
                await self._probe()
            except Exception:  # still down (or failing): ask again later  # noqa: S112
                continue
            break
        since = self._since if self._since is not None else self._clock()
        self._log.info(
            "database available again",
            unavailable_for=round(self._clock() - since, 1),
            refused=self._refused,
        )
        self._since = None
        self._refused = 0
        self._prober = None

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
