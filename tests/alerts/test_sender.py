"""The webhook sender against endpoints that answer in each way HTTP/1.1 allows: kept
connections, chunked and long answers, endpoints that close or do not speak HTTP."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from backupjobs.alerts.destinations import Destination
from backupjobs.alerts.sender import MAX_ANSWER_BYTES, Sender, SendError

Answering = Callable[[int], bytes]


class Endpoint:
    def __init__(self, answer: Answering, *, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.destination = Destination("", "", "")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answer(len(self.requests)))
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@asynccontextmanager
async def endpoint(answer: Answering, **options: bool) -> AsyncIterator[Endpoint]:
    found = Endpoint(answer, **options)
    server = await asyncio.start_server(found.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    found.destination = Destination(f"http://127.0.0.1:{port}/hook?a=1", "127.0.0.1", "127.0.0.1")
    async with server:
        yield found


def ok(_number: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


HEADERS = [("webhook-id", "msg_1")]


async def test_a_connection_is_kept_for_the_next_delivery_to_the_same_endpoint():
    sender = Sender(user_agent="test")
    async with endpoint(ok) as receiver:
        for _ in range(3):
            answer = await sender.post(receiver.destination, HEADERS, b"{}")
            assert (answer.status, answer.excerpt) == (200, "ok")
    await sender.close()
    assert receiver.connections == 1
    first = receiver.requests[0]
    assert first.startswith(b"POST /hook?a=1 HTTP/1.1\r\n")
    port = receiver.destination.url.split(":")[2].split("/")[0]
    assert f"host: 127.0.0.1:{port}".encode() in first.lower()
    assert b"webhook-id: msg_1" in first and first.endswith(b"\r\n\r\n{}")


async def test_an_endpoint_that_closed_a_kept_connection_gets_the_next_on_a_new_one():
    sender = Sender(user_agent="test")
    async with endpoint(ok, close_after=True) as receiver:
        for _ in range(3):
            assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 200
    await sender.close()
    assert receiver.connections == 3


async def test_a_chunked_answer_gives_its_excerpt_and_a_long_one_its_first_kib():
    chunked = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    size = MAX_ANSWER_BYTES + 10
    long = b"HTTP/1.1 202 Accepted\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    sender = Sender(user_agent="test")
    async with endpoint(lambda number: chunked if number == 1 else long) as receiver:
        answer = await sender.post(receiver.destination, HEADERS, b"{}")
        assert (answer.status, answer.excerpt) == (500, "hello")
        answer = await sender.post(receiver.destination, HEADERS, b"{}")
        assert (answer.status, answer.excerpt) == (202, "x" * 1024)
        # The long answer was not read to its end: its connection is not reused.
        assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 202
    await sender.close()
    assert receiver.connections == 2


async def test_no_answer_is_a_send_error():
    sender = Sender(user_agent="test")
    async with endpoint(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n") as receiver:
        with pytest.raises(SendError, match="not valid HTTP"):
            await sender.post(receiver.destination, HEADERS, b"{}")
        url = receiver.destination.url
    # Nothing listens there any more.
    with pytest.raises(SendError, match="cannot connect"):
        await sender.post(Destination(url, "127.0.0.1", "127.0.0.1"), HEADERS, b"{}")
    await sender.close()


async def test_a_connection_idle_longer_than_the_keep_time_is_closed_not_reused():
    sender = Sender(user_agent="test", keep_idle=0.2)
    async with endpoint(ok) as receiver:
        assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 200
        await asyncio.sleep(0.3)
        assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 200
    await sender.close()
    assert receiver.connections == 2
