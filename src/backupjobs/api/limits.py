"""Limits the application enforces before routing, so that it answers them itself.

The HTTP server (granian) refuses a request target longer than about 64 KiB with a 414
of its own, with no body; this application refuses one longer than
:data:`MAX_REQUEST_TARGET` first, with a problem that says so (``docs/api.md``, "What the
HTTP server answers itself").
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from backupjobs.api.problems import send_error

#: Longest request target (path and query, as sent) answered, in bytes.
MAX_REQUEST_TARGET = 8 * 1024


def request_target_limit(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a 414 problem for a request target over :data:`MAX_REQUEST_TARGET`."""

    async def limit(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw_path = scope.get("raw_path") or scope["path"].encode()
            length = len(raw_path) + len(scope.get("query_string", b""))
            if length > MAX_REQUEST_TARGET:
                await _too_long(scope, send, length)
                return
        await app(scope, receive, send)

    return limit


async def _too_long(scope: Scope, send: Send, length: int) -> None:
    detail = (
        f"The request target (path and query) is {length:,} bytes long; at most "
        f"{MAX_REQUEST_TARGET:,} are accepted."
    )
    await send_error(scope, send, 414, detail, instance=False)
