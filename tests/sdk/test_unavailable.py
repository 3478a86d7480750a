"""A real server whose PostgreSQL link is cut: its 503s are retried as Retry-After says."""

import asyncio
import threading
import time
from urllib.parse import urlsplit

import pytest

from backupjobs.sdk import Client, Retry, ServiceUnavailableError
from tests.processes import environment, running_server
from tests.relay import Relay
from tests.sdk.partner import Recorder, populate
from tests.services import create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class ThreadedRelay:
    """:class:`tests.relay.Relay` on an event loop of its own, driven from sync tests."""

    def __init__(self, target):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.relay = self._call(Relay(target).start())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    @property
    def port(self):
        return self.relay.port

    def cut(self):
        self._call(self.relay.cut())

    def restore(self):
        self._call(self.relay.restore())

    def close(self):
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """A server reaching its database through a relay, and the world's ids and apps."""
    url = create_postgres_database()
    parts = urlsplit(url)
    relay = ThreadedRelay((parts.hostname, parts.port or 5432))
    try:
        made = asyncio.run(populate(url))
        through_relay = parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl()
        log = tmp_path_factory.mktemp("outage") / "server.log"
        with running_server(environment(through_relay), log) as server:
            yield server, relay, made
    finally:
        relay.close()
        drop_postgres_database(url)


def test_503_is_retried_after_retry_after_until_the_database_is_back(outage):
    server, relay, made = outage
    recorder = Recorder()
    with Client(
        server.url, made["reader"].credential(), http_client=recorder.sync_client()
    ) as client:
        assert len(list(client.v3.customers())) == 3
        relay.cut()
        restored = threading.Timer(1.0, relay.restore)
        restored.start()
        try:
            started = time.monotonic()
            customers = list(client.v3.customers())
            elapsed = time.monotonic() - started
        finally:
            restored.join()
    assert [c.name for c in customers] == ["Alpha", "Bravo", "Charlie"]
    statuses = [r.status_code for r in recorder.responses]
    assert statuses == [200, 200, 503, 200]  # token, customers, customers again (twice)
    assert recorder.responses[2].headers["retry-after"] == "5"
    assert elapsed >= 5


def test_503_beyond_the_retries_surfaces_with_its_details(outage):
    server, relay, made = outage
    client = Client(server.url, made["reader"].credential(), retry=Retry(attempts=1))
    with client:
        client.authenticate()
        relay.cut()
        try:
            with pytest.raises(ServiceUnavailableError) as down:
                list(client.modern.customers())
            # Without a token yet, the token endpoint is unavailable too: the same error.
            client.tokens.clear()
            with pytest.raises(ServiceUnavailableError) as token_down:
                client.authenticate()
        finally:
            relay.restore()
    for error in (down.value, token_down.value):
        assert error.status == 503
        assert error.retry_after == 5
        assert error.title == "Service Unavailable"
        assert "unavailable" in error.detail
    assert token_down.value.response.request.url.path == "/connect/token"
