"""The HTTP/1.1 of the webhook sender: each way an answer may end (RFC 9112 6.3), read
whole however its bytes are split, and what is refused; the request as written."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupjobs.alerts.destinations import Destination, endpoint_of
from backupjobs.alerts.http1 import MAX_HEAD_BYTES, AnswerReader, InvalidAnswer, request


def read(*parts: bytes, max_body: int = 1000, closed: bool = False) -> AnswerReader:
    answer = AnswerReader(excerpt_bytes=16, max_body=max_body)
    whole = False
    for part in parts:
        whole = answer.feed(part)
    if closed:
        whole = answer.closed()
    assert whole
    return answer


# Each answer, whether the connection may carry the next request, and the excerpt.
ANSWERS = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True, b"ok"),
    (b"HTTP/1.1 204 No Content\r\n\r\n", True, b""),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", True, b""),
    (b"HTTP/1.1 202\r\ncontent-length: 0\r\n\r\n", True, b""),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx", False, b"x"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", False, b"x"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nA: b\r\n\r\n"
     b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew", True, b"new"),
    (b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
     b"5;name=value\r\nhello\r\n11\r\n, and a long one!\r\n0\r\nTrailer: yes\r\n\r\n",
     True, b"hello, and a lon"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n0\r\n\r\n",
     False, b""),
    (b"HTTP/1.1 200 OK\nContent-Length: 2\nX-Folded: a\n b\n\nok", True, b"ok"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", True, b"ok"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "reusable", "excerpt"), ANSWERS)
def test_an_answer_is_read_whole_in_one_piece_or_a_byte_at_a_time(raw, reusable, excerpt):
    for parts in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
        answer = read(*parts)
        assert (answer.reusable, bytes(answer.excerpt)) == (reusable, excerpt)
        assert answer.status == int(raw.rsplit(b"HTTP/1.", 1)[1][2:5])


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=40))
def test_how_the_bytes_are_split_changes_nothing(sizes):
    raw = ANSWERS[7][0]
    parts, start = [], 0
    for size in sizes:
        parts.append(raw[start : start + size])
        start += size
    parts.append(raw[start:])
    answer = read(*parts)
    assert (answer.status, bytes(answer.excerpt), answer.reusable) == (500, ANSWERS[7][2], True)


def test_a_body_without_a_length_ends_with_the_connection():
    answer = AnswerReader(excerpt_bytes=16, max_body=1000)
    assert not answer.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nsome")
    assert not answer.feed(b" more")
    assert answer.closed() and answer.status == 200 and not answer.reusable
    assert bytes(answer.excerpt) == b"some more"
    plain = read(b"HTTP/1.1 503 Busy\r\n\r\nlater", closed=True)
    assert (plain.status, bytes(plain.excerpt), plain.reusable) == (503, b"later", False)


def test_an_answer_cut_short_is_not_whole():
    for raw in (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"",
    ):
        answer = AnswerReader(excerpt_bytes=16, max_body=1000)
        assert not answer.feed(raw)
        assert not answer.closed()


def test_a_body_past_the_limit_ends_the_answer_and_the_connection():
    answer = AnswerReader(excerpt_bytes=4, max_body=10)
    assert not answer.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    assert answer.feed(b"a")
    assert (bytes(answer.excerpt), answer.reusable) == (b"0123", False)


def test_a_byte_after_the_answer_makes_the_connection_not_reusable():
    assert not read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA").reusable
    answer = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert answer.feed(b"late") and not answer.reusable


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "status line"),
        (b"HTTP/2 200\r\n\r\n", "status line"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "longer than"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD_BYTES, "head is longer"),
    ],
)
def test_what_is_not_an_http_answer_is_refused_saying_what(raw, says):
    with pytest.raises(InvalidAnswer, match=says):
        AnswerReader(excerpt_bytes=16, max_body=1000).feed(raw)


def test_the_request_names_the_host_and_length_and_encodes_what_a_target_may_not_hold():
    destination = Destination("https://PSA.example.com:8443/a b/é?x=1&y=ü", "psa.example.com", "")
    written = request(endpoint_of(destination), "agent/1", [("webhook-id", "msg_1")], b"{}")
    assert written == (
        b"POST /a%20b/%C3%A9?x=1&y=%C3%BC HTTP/1.1\r\nHost: PSA.example.com:8443\r\n"
        b"User-Agent: agent/1\r\nContent-Length: 2\r\nwebhook-id: msg_1\r\n\r\n{}"
    )


def test_a_header_that_would_split_the_request_is_never_written():
    endpoint = endpoint_of(Destination("http://example.com/", "example.com", ""))
    for header in [("webhook-id", "a\r\nX-Injected: 1"), ("a\nb", "c"), ("x", "\x00")]:
        with pytest.raises(ValueError, match="line break or a NUL"):
            request(endpoint, "agent/1", [header], b"{}")
