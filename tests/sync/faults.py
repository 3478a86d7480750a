"""A real HTTP server in front of an upstream that forwards requests, or answers the
scripted faults of a remote API instead: 429 with Retry-After, 5xx, garbage JSON, an
answer slower than the client's timeout, a dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass
class Fault:
    """Answer the next request whose path contains ``path`` with ``status`` and ``body``
    (``headers`` added), or ``drop`` the connection, or ``delay`` seconds first (then
    forward, unless a status is given). Used ``times`` times."""

    path: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    times: int = 1


@dataclass
class FaultServer:
    target: str
    faults: list[Fault] = field(default_factory=list)
    #: Every request's path, in the order received.
    seen: list[str] = field(default_factory=list)
    #: Seconds to wait before forwarding any request whose path contains the key.
    slow: dict[str, float] = field(default_factory=dict)
    on_request: Callable[[str], None] | None = None
    port: int = 0
    _server: asyncio.Server | None = None
    _http: httpx.AsyncClient | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultServer:
        self._http = httpx.AsyncClient(base_url=self.target, timeout=60)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._http is not None
        self._server.close()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        await self._http.aclose()

    def add(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _take(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in path:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = target.split("?", 1)[0]
                self.seen.append(path)
                if self.on_request is not None:
                    self.on_request(path)
                if not await self._answer(writer, method, target, path, headers, body):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, httpx.HTTPError):
            pass
        finally:
            writer.transport.abort()
            self._handlers.discard(handler)  # type: ignore[arg-type]

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
    ) -> bool:
        fault = self._take(path)
        for part, seconds in self.slow.items():
            if part in path:
                await asyncio.sleep(seconds)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                return False
            if fault.status is not None:
                self._write(writer, fault.status, fault.body, fault.headers)
                await writer.drain()
                return True
        assert self._http is not None
        forwarded = {
            name: value
            for name, value in headers.items()
            if name in ("authorization", "content-type", "accept")
        }
        answer = await self._http.request(method, target, content=body, headers=forwarded)
        extra = {"Content-Type": answer.headers.get("content-type", "application/json")}
        if "retry-after" in answer.headers:
            extra["Retry-After"] = answer.headers["retry-after"]
        self._write(writer, answer.status_code, answer.content, extra)
        await writer.drain()
        return True

    @staticmethod
    def _write(
        writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
