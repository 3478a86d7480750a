"""Stopping a background task for good.

>>> # await stop(task)   # cancelled, and awaited until it has really ended

On Python 3.11 a cancellation that arrives just as an ``asyncio.wait_for`` (here or inside
a library, such as a driver's connect) completes is lost, and a task that was cancelled
once may go on running: awaiting it would hang a shutdown. :func:`stop` cancels again
until the task is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

#: Seconds between two cancellations of a task that has not ended.
RECANCEL_EVERY = 0.5


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended (its outcome is dropped)."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_EVERY)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
