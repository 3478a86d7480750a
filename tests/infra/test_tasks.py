"""A background task is stopped for good, even when a cancellation is lost on the way."""

import asyncio

from backupjobs.infra.tasks import stop


async def test_a_task_that_loses_a_cancellation_is_cancelled_again():
    cancellations = 0

    async def stubborn() -> None:
        nonlocal cancellations
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations == 1:
                    continue  # as Python 3.11's wait_for can: the first one is swallowed
                raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop(task), timeout=5)
    assert task.cancelled() and cancellations == 2


async def test_a_finished_or_absent_task_is_nothing_to_stop():
    async def done() -> int:
        raise ValueError("its outcome is dropped")

    task = asyncio.create_task(done())
    await asyncio.sleep(0)
    await stop(task)
    await stop(None)
