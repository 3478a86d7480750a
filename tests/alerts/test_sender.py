"""The webhook sender against endpoints that answer in each way HTTP/1.1 allows: kept
connections, chunked and long answers, endpoints that close or do not speak HTTP."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backupjobs.alerts.destinations import Destination
from backupjobs.alerts.sender import MAX_ANSWER_BYTES, Sender, SendError

Answering = Callable[[int], bytes]


class Endpoint:
    def __init__(self, answer: Answering, *, close_after: bool = False, hold: float = 0) -> None:
        self.answer = answer
        self.close_after = close_after
        #: Seconds each request waits for its answer; the most answered at once so far.
        self.hold = hold
        self.in_flight = self.most_in_flight = 0
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
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                await asyncio.sleep(self.hold)
                self.in_flight -= 1
                writer.write(self.answer(len(self.requests)))
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@asynccontextmanager
async def endpoint(answer: Answering, **options: Any) -> AsyncIterator[Endpoint]:
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


async def test_an_answer_ended_by_closing_is_whole_and_one_cut_short_is_an_error():
    until_close = b"HTTP/1.1 503 Busy\r\n\r\ntry later"
    cut_short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"
    sender = Sender(user_agent="test")
    async with endpoint(
        lambda number: until_close if number == 1 else cut_short, close_after=True
    ) as receiver:
        answer = await sender.post(receiver.destination, HEADERS, b"{}")
        assert (answer.status, answer.excerpt) == (503, "try later")
        with pytest.raises(SendError, match="before the answer's end"):
            await sender.post(receiver.destination, HEADERS, b"{}")
    await sender.close()
    assert receiver.connections == 2


async def test_an_interim_answer_is_skipped_and_the_connection_kept():
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    sender = Sender(user_agent="test")
    async with endpoint(lambda _: interim) as receiver:
        for _ in range(2):
            assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 204
    await sender.close()
    assert receiver.connections == 1


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


async def test_an_endpoint_that_closes_on_connecting_is_a_send_error_at_once():
    async def close(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = Sender(user_agent="test")
    async with server:
        for _ in range(3):
            async with asyncio.timeout(5):
                with pytest.raises(SendError, match=r"without an answer|connection lost"):
                    await sender.post(
                        Destination(f"http://127.0.0.1:{port}/", "127.0.0.1", "127.0.0.1"),
                        HEADERS,
                        b"{}",
                    )
    await sender.close()


async def test_a_connection_idle_longer_than_the_keep_time_is_closed_not_reused():
    sender = Sender(user_agent="test", keep_idle=0.2)
    async with endpoint(ok) as receiver:
        assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 200
        await asyncio.sleep(0.3)
        assert (await sender.post(receiver.destination, HEADERS, b"{}")).status == 200
    await sender.close()
    assert receiver.connections == 2


# -- https -------------------------------------------------------------------------------


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any, **names: Any) -> Any:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
    )
    if names.get("dns"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(names["dns"])]), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    """A certificate authority, and a server certificate of its for ``localhost`` and one
    for another name: (the authority's file, {name: (certificate file, key file)})."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("test authority", ca_key, "test authority", ca_key)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    served = {}
    for name in ("localhost", "elsewhere.example"):
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _certificate(name, key, "test authority", ca_key, dns=name)
        (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        served[name] = (folder / f"{name}.pem", folder / f"{name}.key")
    return folder / "ca.pem", served


@asynccontextmanager
async def https_endpoint(certificate: Any) -> AsyncIterator[Endpoint]:
    found = Endpoint(ok)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    server = await asyncio.start_server(found.serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    # The URL's host is verified, the address checked is connected to.
    found.destination = Destination(f"https://localhost:{port}/hook", "localhost", "127.0.0.1")
    async with server:
        yield found


async def test_https_is_verified_against_the_urls_host_at_the_address_checked(authority):
    roots, served = authority
    sender = Sender(user_agent="test", tls=ssl.create_default_context(cafile=roots))
    async with https_endpoint(served["localhost"]) as receiver:
        for _ in range(2):
            answer = await sender.post(receiver.destination, HEADERS, b"{}")
            assert (answer.status, answer.excerpt) == (200, "ok")
    await sender.close()
    assert receiver.connections == 1
    assert b"host: localhost:" in receiver.requests[0].lower()


async def test_https_with_a_certificate_for_another_name_is_refused(authority):
    roots, served = authority
    sender = Sender(user_agent="test", tls=ssl.create_default_context(cafile=roots))
    async with https_endpoint(served["elsewhere.example"]) as receiver:
        with pytest.raises(SendError, match="cannot connect"):
            await sender.post(receiver.destination, HEADERS, b"{}")
    await sender.close()
    assert receiver.requests == []


async def test_https_signed_by_an_authority_not_trusted_is_refused(authority):
    _, served = authority
    sender = Sender(user_agent="test")  # certifi's roots: the test authority is not one
    async with https_endpoint(served["localhost"]) as receiver:
        with pytest.raises(SendError, match="cannot connect"):
            await sender.post(receiver.destination, HEADERS, b"{}")
    await sender.close()
    assert receiver.requests == []


async def test_requests_to_one_destination_wait_past_its_limit_in_flight():
    sender = Sender(user_agent="test", per_destination=3)
    async with endpoint(ok, hold=0.05) as one, endpoint(ok, hold=0.05) as other:
        answers = await asyncio.gather(
            *(sender.post(one.destination, HEADERS, b"{}") for _ in range(12)),
            *(sender.post(other.destination, HEADERS, b"{}") for _ in range(2)),
        )
        await sender.close()
    assert [answer.status for answer in answers] == [200] * 14
    assert one.most_in_flight == 3  # 12 at once, 3 at a time
    assert other.most_in_flight <= 2
    assert sender._using == {} and sender._slots == {}
