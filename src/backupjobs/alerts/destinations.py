"""Where a webhook may be sent: http(s) URLs resolving to public addresses only.

>>> # address = await resolve_destination("https://psa.example.com/hook", allow_private=False)

A destination is refused when any address its host resolves to is loopback, private,
link-local, multicast, unspecified or reserved (an IPv6 form of an IPv4 address is judged
as that address), unless the deployment allows private destinations
(``BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE=true``). It is checked when a subscription is made
or changed, and again for each delivery round, since DNS answers change: the address
checked is the address connected to (:func:`endpoint_of`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class DestinationError(ValueError):
    """A URL webhooks may not be sent to; the message says why."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A URL and the address to connect to for it."""

    url: str
    host: str
    address: str


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "private", "link_local", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None


def check_url(url: str) -> tuple[str, int]:
    """The host and port of an http or https URL; :class:`DestinationError` otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationError(f"url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationError(f"url {url!r} is not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise DestinationError("url must be an http or https URL")
    if not parts.hostname:
        raise DestinationError("url has no host")
    if parts.username or parts.password:
        raise DestinationError("url may not carry a user name or password")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_destination(url: str, *, allow_private: bool) -> Destination:
    """The address to connect to for ``url``; :class:`DestinationError` if the URL is not
    http(s), its host does not resolve, or (unless ``allow_private``) any of its
    addresses is not public."""
    host, port = check_url(url)
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError):
            raise DestinationError(f"url host {host!r} does not resolve") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise DestinationError(f"url host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            kind = _refused(ipaddress.ip_address(address.split("%")[0]))
            if kind is not None:
                raise DestinationError(
                    f"url host {host!r} resolves to {address}, a {kind} address: webhooks "
                    "go to public addresses only"
                )
    return Destination(url, host, addresses[0])


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a request for a destination goes: its checked address, and what names the
    host asked for (the ``Host`` header; TLS's server name, checked against the
    certificate)."""

    scheme: str
    address: str
    port: int
    server_name: str
    host_header: str
    target: str


def endpoint_of(destination: Destination) -> Endpoint:
    """The connection and request line for ``destination``: to the address checked."""
    parts = urlsplit(destination.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Endpoint(
        parts.scheme,
        destination.address,
        port,
        destination.host,
        parts.netloc.rsplit("@", 1)[-1],
        target,
    )
