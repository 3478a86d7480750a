"""A real HTTP server receiving webhooks, in a thread of the test process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Records each POST; answers the statuses queued in ``answers`` (then ``default``)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default: int = 200
    #: Answer a 302 to this location instead (redirects must not be followed).
    redirect_to: str | None = None
    delay: float = 0.0
    #: Seconds the first request waits for its answer (a kill can land meanwhile).
    hold_first: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} deliveries, not {count}")
            time.sleep(0.02)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self.lock:
            self.received.append(
                Received(handler.path, dict(handler.headers.items()), body, time.monotonic())
            )
            first = len(self.received) == 1
            status = self.answers.pop(0) if self.answers else self.default
        if self.delay or (first and self.hold_first):
            time.sleep(self.hold_first if first and self.hold_first else self.delay)
        # The sender may be gone meanwhile (a test killed it).
        with contextlib.suppress(OSError):
            if self.redirect_to is not None:
                handler.send_response(302)
                handler.send_header("Location", self.redirect_to)
            else:
                handler.send_response(status)
            reply = f"answer {status}".encode()
            handler.send_header("Content-Length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)


@contextmanager
def receiving(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver._answer(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
