"""The HTTP/1.1 a webhook sender speaks (RFC 9112): a POST written out, its answer read.

>>> request(Endpoint(...), "backupjobs-webhooks/1.0", [("webhook-id", "msg_1")], b"{}")
b'POST /hook HTTP/1.1\\r\\nHost: ...'
>>> answer = AnswerReader(excerpt_bytes=4096, max_body=65536)
>>> answer.feed(b"HTTP/1.1 204 No Content\\r\\n\\r\\n")    # True: the answer is whole
True

Why by hand rather than h11 (which this replaced): a delivery sends one request whose
headers are ours, and keeps of the answer its status, whether the connection may be
reused and the body's first bytes. h11 validated and serialised each request and ran its
state machine over each answer for about 75 us of a server's CPU per delivery, a quarter
of what an event cost (``docs/scaling.md``, "Alerts", 2026-12-05). What is read here is
what decides where an answer ends: interim (1xx) answers skipped, no body for 204 and
304, a chunked body, a Content-Length body, or else one that ends with the connection;
anything that is not such an answer is :class:`InvalidAnswer`.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from backupjobs.alerts.destinations import Endpoint

#: An answer's head (status line and headers) is at most this long, as h11's limit was.
MAX_HEAD_BYTES = 16 * 1024
_MAX_CHUNK_LINE = 1024
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: [^\r\n]*)?")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_CHUNK_SIZE_TEXT = re.compile(rb"[0-9A-Fa-f]{1,16}")
#: What may stand in a request target as it is; anything else is percent-encoded, as a
#: browser sends a URL with spaces or non-ASCII characters in its path.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_UNSAFE_IN_HEADER = re.compile(r"[\r\n\x00]")


class InvalidAnswer(Exception):
    """Bytes that are not an HTTP/1.1 answer; the message says what was wrong."""


def request(
    endpoint: Endpoint, user_agent: str, headers: list[tuple[str, str]], body: bytes
) -> bytes:
    """A POST of ``body`` to ``endpoint`` with ``headers`` (after Host, User-Agent and
    Content-Length). Header names and values are ours: one with a line break or a NUL in
    it is a ValueError, never written."""
    fields = [
        ("Host", endpoint.host_header),
        ("User-Agent", user_agent),
        ("Content-Length", str(len(body))),
        *headers,
    ]
    lines = [f"POST {quote(endpoint.target, safe=_TARGET_SAFE)} HTTP/1.1"]
    for name, value in fields:
        if _UNSAFE_IN_HEADER.search(name) or _UNSAFE_IN_HEADER.search(value):
            raise ValueError(f"header {name!r} has a line break or a NUL in it")
        lines.append(f"{name}: {value}")
    lines += ("", "")
    return "\r\n".join(lines).encode("ascii") + body


_HEAD, _LENGTH, _UNTIL_CLOSE, _CHUNK_SIZE, _CHUNK, _CHUNK_END, _TRAILERS, _DONE = range(8)


class AnswerReader:
    """One answer, read from the bytes given to :meth:`feed` as they come.

    ``status``: the final status (None until its head is read); ``excerpt``: the body's
    first ``excerpt_bytes``; ``reusable``: whether the connection may carry the next
    request once :meth:`feed` returned True (HTTP/1.1, no ``Connection: close``, the body
    read to its end, no byte past it). A body longer than ``max_body`` is not read on:
    the answer counts as whole, and the connection is not reusable."""

    def __init__(self, *, excerpt_bytes: int, max_body: int) -> None:
        self.status: int | None = None
        self.excerpt = bytearray()
        self.reusable = True
        self._excerpt_bytes = excerpt_bytes
        self._max_body = max_body
        self._state = _HEAD
        self._buffer = bytearray()
        self._body_read = 0
        #: Body bytes still to come: of the Content-Length body, or of the current chunk.
        self._remaining = 0

    @property
    def whole(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> bool:
        """Take the next bytes of the connection; True once the answer is whole (any byte
        after it makes the connection not reusable)."""
        if self._state == _DONE:
            self.reusable = self.reusable and not data
            return True
        self._buffer += data
        while self._step():
            pass
        if self._state == _DONE and self._buffer:
            self.reusable = False
        return self._state == _DONE

    def closed(self) -> bool:
        """The connection ended: True when that ended the answer (a body read until the
        close), False when the answer is not whole."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
        return self._state == _DONE

    def _step(self) -> bool:
        """Read what the buffer holds in the current state; True to go on."""
        state = self._state
        if state == _HEAD:
            return self._head()
        if state in (_LENGTH, _CHUNK):
            taken = self._body(min(self._remaining, len(self._buffer)))
            self._remaining -= taken
            if self._state != _DONE and not self._remaining:
                self._state = _DONE if state == _LENGTH else _CHUNK_END
            return bool(taken) and self._state != _DONE
        if state == _UNTIL_CLOSE:
            self._body(len(self._buffer))
            return False
        if state in (_CHUNK_SIZE, _CHUNK_END, _TRAILERS):
            return self._chunk_line(state)
        return False

    def _head(self) -> bool:
        end = _HEAD_END.search(self._buffer)
        if end is None:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise InvalidAnswer(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
            return False
        if end.start() > MAX_HEAD_BYTES:
            raise InvalidAnswer(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
        lines = _LINE_END.split(bytes(self._buffer[: end.start()]))
        del self._buffer[: end.end()]
        status_line = _STATUS_LINE.fullmatch(lines[0])
        if status_line is None:
            raise InvalidAnswer(f"the status line {lines[0][:80]!r} is not HTTP/1.1's")
        status = int(status_line[2])
        fields = _fields(lines[1:])
        if 100 <= status < 200:
            if status == 101:
                raise InvalidAnswer("the answer switched protocols, which no request asked for")
            return True  # interim: the final answer follows
        self.status = status
        connection = {token.strip().lower() for token in fields.get(b"connection", b"").split(b",")}
        if status_line[1] == b"0" or b"close" in connection:
            self.reusable = False
        encoding = fields.get(b"transfer-encoding")
        length = fields.get(b"content-length")
        if status in (204, 304):
            self._state = _DONE
        elif encoding is not None:
            if length is not None:  # both: RFC 9112 6.3 (3) has the connection closed after
                self.reusable = False
            codings = [c.strip().lower() for c in encoding.split(b",")]
            if codings[-1] == b"chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state, self.reusable = _UNTIL_CLOSE, False
        elif length is not None:
            values = {v.strip() for v in length.split(b",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise InvalidAnswer(f"the Content-Length {length[:40]!r} is not one number")
            self._remaining = int(next(iter(values)))
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._state, self.reusable = _UNTIL_CLOSE, False
        return self._state != _DONE

    def _body(self, size: int) -> int:
        """Take ``size`` body bytes from the buffer; past ``max_body`` the answer is whole
        and the connection let go."""
        if not size:
            return 0
        room = self._excerpt_bytes - len(self.excerpt)
        if room > 0:
            self.excerpt += self._buffer[: min(room, size)]
        del self._buffer[:size]
        self._body_read += size
        if self._body_read > self._max_body:
            self._state, self.reusable = _DONE, False
            self._buffer.clear()
        return size

    def _chunk_line(self, state: int) -> bool:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > _MAX_CHUNK_LINE:
                raise InvalidAnswer("a chunk's size line is too long")
            return False
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        if state == _CHUNK_END:
            if line:
                raise InvalidAnswer("a chunk is longer than its size")
            self._state = _CHUNK_SIZE
        elif state == _TRAILERS:
            if not line:
                self._state = _DONE
        else:
            size = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE_TEXT.fullmatch(size):
                raise InvalidAnswer(f"the chunk size {size[:20]!r} is not hexadecimal")
            self._remaining = int(size, 16)
            self._state = _CHUNK if self._remaining else _TRAILERS
        return self._state != _DONE


def _fields(lines: list[bytes]) -> dict[bytes, bytes]:
    """The header fields by lower-case name, repeated ones joined with commas (a line
    that starts with a space or a tab goes on the one before: obs-fold)."""
    fields: dict[bytes, bytes] = {}
    name = b""
    for line in lines:
        if line[:1] in (b" ", b"\t") and name:
            fields[name] += b" " + line.strip()
            continue
        header = _HEADER.fullmatch(line)
        if header is None:
            raise InvalidAnswer(f"the header line {line[:80]!r} is not a header field")
        name = header[1].lower()
        fields[name] = fields[name] + b", " + header[2] if name in fields else header[2]
    return fields
