"""``client.webhooks``: alert subscriptions and their deliveries (``/api/v1/webhooks``).

>>> # with Client(url, ClientSecret(client_id, secret)) as client:
>>> #     hook = client.webhooks.create("https://psa.example.com/hook", ["job.failed"])
>>> #     print(hook["secret"])                      # shown once: keep it
>>> #     for delivery in client.webhooks.deliveries(hook["id"]): ...

Answers are the API's JSON objects (docs/alerts.md). The same calls, awaited, on
:class:`~backupjobs.sdk.AsyncClient` (``async for`` over the lists). Permission
``elements.alerts.manage.all``. To check what you receive, see :mod:`.webhooks`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from backupjobs.sdk.client import AsyncClient, Client

PATH = "/api/v1/webhooks"
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    json: Any = None
    params: dict[str, str | int] | None = None


def _path(*parts: str) -> str:
    return "/".join([PATH, *(quote(part, safe="") for part in parts)])


def _fields(**given: Any) -> dict[str, Any]:
    names = {
        "url": "url",
        "events": "events",
        "customer_ids": "customerIds",
        "stale_after": "staleAfter",
        "format": "format",
        "description": "description",
        "enabled": "enabled",
    }
    body = {}
    for name, value in given.items():
        if value is _UNSET:
            continue
        if name == "events":
            body[names[name]] = list(value)
        elif name == "customer_ids" and value is not None:
            body[names[name]] = [str(v) for v in value]
        else:
            body[names[name]] = value
    return body


class _Calls:
    """What each operation asks; the clients below send it."""

    @staticmethod
    def create(
        url: str,
        events: Sequence[str],
        customer_ids: Sequence[str] | None = None,
        stale_after: str | None = None,
        format: str | None = None,
        description: str | None = None,
    ) -> _Request:
        body = _fields(url=url, events=events, customer_ids=customer_ids)
        for name, value in (
            ("staleAfter", stale_after),
            ("format", format),
            ("description", description),
        ):
            if value is not None:
                body[name] = value
        return _Request("POST", PATH, body)

    @staticmethod
    def update(webhook_id: str, **fields: Any) -> _Request:
        return _Request("PATCH", _path(webhook_id), _fields(**fields))


class Webhooks:
    """``client.webhooks`` (blocking)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _send(self, request: _Request) -> Any:
        answer = self._client.request(
            request.method, request.path, params=request.params, json=request.json
        )
        return None if answer.status_code == 204 else answer.json()

    def _walk(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": page_size}
        while True:
            page = self._send(_Request("GET", path, params=params))
            yield from page["items"]
            if not page["nextCursor"]:
                return
            params = {"limit": page_size, "cursor": page["nextCursor"]}

    def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        customer_ids: Sequence[str] | None = None,
        stale_after: str | None = None,
        format: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A new subscription, with its ``secret`` (shown this once)."""
        created: dict[str, Any] = self._send(
            _Calls.create(url, events, customer_ids, stale_after, format, description)
        )
        return created

    def list(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return self._walk(PATH, page_size)

    def get(self, webhook_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._send(_Request("GET", _path(webhook_id)))
        return found

    def update(
        self,
        webhook_id: str,
        *,
        url: str = _UNSET,
        events: Sequence[str] = _UNSET,
        customer_ids: Sequence[str] | None = _UNSET,
        stale_after: str = _UNSET,
        format: str = _UNSET,
        description: str = _UNSET,
        enabled: bool = _UNSET,
    ) -> dict[str, Any]:
        """Change what is given (``customer_ids=None``: every customer)."""
        changed: dict[str, Any] = self._send(
            _Calls.update(
                webhook_id,
                url=url,
                events=events,
                customer_ids=customer_ids,
                stale_after=stale_after,
                format=format,
                description=description,
                enabled=enabled,
            )
        )
        return changed

    def delete(self, webhook_id: str) -> None:
        self._send(_Request("DELETE", _path(webhook_id)))

    def rotate_secret(self, webhook_id: str) -> dict[str, Any]:
        rotated: dict[str, Any] = self._send(_Request("POST", _path(webhook_id, "rotate-secret")))
        return rotated

    def test(self, webhook_id: str) -> dict[str, Any]:
        """Queue a ``ping`` event; the delivery."""
        queued: dict[str, Any] = self._send(_Request("POST", _path(webhook_id, "test")))
        return queued

    def deliveries(self, webhook_id: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return self._walk(_path(webhook_id, "deliveries"), page_size)

    def delivery(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        """A delivery with its ``attemptLog``."""
        found: dict[str, Any] = self._send(
            _Request("GET", _path(webhook_id, "deliveries", delivery_id))
        )
        return found

    def redeliver(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        again: dict[str, Any] = self._send(
            _Request("POST", _path(webhook_id, "deliveries", delivery_id, "redeliver"))
        )
        return again


class AsyncWebhooks:
    """``client.webhooks`` on :class:`~backupjobs.sdk.AsyncClient`: the same, awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _send(self, request: _Request) -> Any:
        answer = await self._client.request(
            request.method, request.path, params=request.params, json=request.json
        )
        return None if answer.status_code == 204 else answer.json()

    async def _walk(self, path: str, page_size: int) -> AsyncIterator[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": page_size}
        while True:
            page = await self._send(_Request("GET", path, params=params))
            for item in page["items"]:
                yield item
            if not page["nextCursor"]:
                return
            params = {"limit": page_size, "cursor": page["nextCursor"]}

    async def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        customer_ids: Sequence[str] | None = None,
        stale_after: str | None = None,
        format: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        created: dict[str, Any] = await self._send(
            _Calls.create(url, events, customer_ids, stale_after, format, description)
        )
        return created

    def list(self, *, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        return self._walk(PATH, page_size)

    async def get(self, webhook_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._send(_Request("GET", _path(webhook_id)))
        return found

    async def update(self, webhook_id: str, **fields: Any) -> dict[str, Any]:
        """As :meth:`Webhooks.update`."""
        changed: dict[str, Any] = await self._send(_Calls.update(webhook_id, **fields))
        return changed

    async def delete(self, webhook_id: str) -> None:
        await self._send(_Request("DELETE", _path(webhook_id)))

    async def rotate_secret(self, webhook_id: str) -> dict[str, Any]:
        rotated: dict[str, Any] = await self._send(
            _Request("POST", _path(webhook_id, "rotate-secret"))
        )
        return rotated

    async def test(self, webhook_id: str) -> dict[str, Any]:
        queued: dict[str, Any] = await self._send(_Request("POST", _path(webhook_id, "test")))
        return queued

    def deliveries(self, webhook_id: str, *, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        return self._walk(_path(webhook_id, "deliveries"), page_size)

    async def delivery(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._send(
            _Request("GET", _path(webhook_id, "deliveries", delivery_id))
        )
        return found

    async def redeliver(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        again: dict[str, Any] = await self._send(
            _Request("POST", _path(webhook_id, "deliveries", delivery_id, "redeliver"))
        )
        return again
