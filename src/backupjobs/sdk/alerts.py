"""``client.webhooks``: alert subscriptions and their deliveries (``/api/v1/webhooks``).

>>> # with Client(url, ClientSecret(client_id, secret)) as client:
>>> #     hook = client.webhooks.create("https://psa.example.com/hook", ["job.failed"])
>>> #     print(hook["secret"])                      # shown once: keep it
>>> #     for delivery in client.webhooks.deliveries(hook["id"]): ...

Answers are the API's JSON objects (docs/alerts.md). The same calls, awaited, on
:class:`~backupjobs.sdk.AsyncClient` (``async for`` over the lists). Permission
``elements.alerts.manage.all``. To check what you receive, see :mod:`.webhooks`.

Each call is declared here once, as a plan; ``client.webhooks`` of either client carries
it out (:class:`~backupjobs.sdk.Webhooks`, :class:`~backupjobs.sdk.AsyncWebhooks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import quote

from backupjobs.sdk.flows import Call, Flow, PageWalk, answer
from backupjobs.sdk.reports import cursor_walk, items
from backupjobs.sdk.retry import Retry

if TYPE_CHECKING:
    from backupjobs.sdk.endpoints import Endpoints

T = TypeVar("T")

PATH = "/api/v1/webhooks"
_UNSET: Any = object()
#: A webhook or a delivery: the API's JSON object.
Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sent(Generic[T]):
    """One call whose answer is its JSON (None for 204 No Content)."""

    call: Call

    def flow(self, retry: Retry) -> Flow[T]:
        response = yield from answer(self.call, retry)
        return cast(T, None if response.status_code == 204 else response.json())


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


def _object(item: Any) -> Object:
    return cast(Object, item)


def _objects(api: Endpoints, path: str, page_size: int) -> PageWalk[Object]:
    return cursor_walk(api.url(path), (("limit", str(page_size)),), items(_object))


def create(
    api: Endpoints,
    url: str,
    events: Sequence[str],
    *,
    customer_ids: Sequence[str] | None = None,
    stale_after: str | None = None,
    format: str | None = None,
    description: str | None = None,
) -> Sent[Object]:
    """A new subscription, with its ``secret`` (shown this once)."""
    body = _fields(url=url, events=events, customer_ids=customer_ids)
    for name, value in (
        ("staleAfter", stale_after),
        ("format", format),
        ("description", description),
    ):
        if value is not None:
            body[name] = value
    return Sent(Call("POST", api.url(PATH), json=body))


def listing(api: Endpoints, *, page_size: int = 100) -> PageWalk[Object]:
    """Every subscription."""
    return _objects(api, PATH, page_size)


def get(api: Endpoints, webhook_id: str) -> Sent[Object]:
    """One subscription."""
    return Sent(Call("GET", api.url(_path(webhook_id))))


def update(
    api: Endpoints,
    webhook_id: str,
    *,
    url: str = _UNSET,
    events: Sequence[str] = _UNSET,
    customer_ids: Sequence[str] | None = _UNSET,
    stale_after: str = _UNSET,
    format: str = _UNSET,
    description: str = _UNSET,
    enabled: bool = _UNSET,
) -> Sent[Object]:
    """Change what is given (``customer_ids=None``: every customer)."""
    body = _fields(
        url=url,
        events=events,
        customer_ids=customer_ids,
        stale_after=stale_after,
        format=format,
        description=description,
        enabled=enabled,
    )
    return Sent(Call("PATCH", api.url(_path(webhook_id)), json=body))


def delete(api: Endpoints, webhook_id: str) -> Sent[None]:
    """Remove a subscription; nothing more is delivered to it."""
    return Sent(Call("DELETE", api.url(_path(webhook_id))))


def rotate_secret(api: Endpoints, webhook_id: str) -> Sent[Object]:
    """A new signing secret (shown this once); the previous one keeps signing beside it
    for 24 hours."""
    return Sent(Call("POST", api.url(_path(webhook_id, "rotate-secret"))))


def test(api: Endpoints, webhook_id: str) -> Sent[Object]:
    """Queue a ``ping`` event; the delivery."""
    return Sent(Call("POST", api.url(_path(webhook_id, "test"))))


def deliveries(api: Endpoints, webhook_id: str, *, page_size: int = 100) -> PageWalk[Object]:
    """A subscription's deliveries."""
    return _objects(api, _path(webhook_id, "deliveries"), page_size)


def delivery(api: Endpoints, webhook_id: str, delivery_id: str) -> Sent[Object]:
    """A delivery with its ``attemptLog``."""
    return Sent(Call("GET", api.url(_path(webhook_id, "deliveries", delivery_id))))


def redeliver(api: Endpoints, webhook_id: str, delivery_id: str) -> Sent[Object]:
    """Start a delivery again."""
    return Sent(Call("POST", api.url(_path(webhook_id, "deliveries", delivery_id, "redeliver"))))
