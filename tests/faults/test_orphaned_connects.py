"""A connect cancelled during an outage leaves asyncpg's TLS negotiation future to fail
unawaited: the tests' loop must not report it to whatever test runs then."""

import asyncio
import gc


async def test_an_orphaned_connect_future_is_not_reported_to_the_running_test():
    # Without the conftest's handler, anyio's runner raises this at the end of the test.
    loop = asyncio.get_running_loop()
    orphan = loop.create_future()
    orphan.set_exception(ConnectionError("unexpected connection_lost() call"))
    del orphan
    gc.collect()
    await asyncio.sleep(0)
