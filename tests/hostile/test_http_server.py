"""What reaches the application through the HTTP server (granian), and what the server
answers itself: a long request target and a body cut short, against a real server."""

import json
import socket

import pytest

from tests.processes import Operator, environment, running_server

pytestmark = pytest.mark.slow


def exchange(url: str, request: bytes, *, half_close: bool = False) -> tuple[int, dict, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("http")
    env = environment(f"sqlite:///{folder / 'http.db'}")
    operator = Operator.setup(env)
    with running_server(env, folder / "server.log") as running:
        yield running, operator.token(running.url)


@pytest.mark.parametrize("length", [9_000, 60_000])
def test_a_long_request_target_is_a_414_problem(server, length):
    running, _ = server
    path = b"/partner/external/v3/general/customers/" + b"a" * length + b"/jobs"
    request = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    status, headers, body = exchange(running.url, request + b"Connection: close\r\n\r\n")
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    assert "8,192" in json.loads(body)["detail"]


def test_a_long_request_target_of_an_odata_service_is_a_414_odata_error(server):
    running, _ = server
    request = b"GET /partner/customers/" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: x\r\n"
    status, headers, body = exchange(running.url, request + b"Connection: close\r\n\r\n")
    assert status == 414
    assert (headers["content-type"], headers["odata-version"]) == ("application/json", "4.0")
    assert "8,192" in json.loads(body)["error"]["message"]


def test_past_the_http_server_s_own_limit_its_414_has_no_body(server):
    # Documented in docs/api.md: granian (hyper) answers this one itself.
    running, _ = server
    request = b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, _, body = exchange(running.url, request)
    assert status == 414 and body == b""


def test_a_body_shorter_than_its_content_length_is_a_400_problem(server):
    running, token = server
    request = (
        b"POST /api/v1/ingest/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[1,2]"
    )
    status, headers, body = exchange(running.url, request, half_close=True)
    assert status == 400, body
    assert headers["content-type"] == "application/problem+json"
    assert "Content-Length" in json.loads(body)["detail"]
