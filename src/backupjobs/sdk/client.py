"""The clients: :class:`Client` (blocking) and :class:`AsyncClient`, with the same surface.

>>> from backupjobs.sdk import Client, ClientSecret
>>> # with Client("http://127.0.0.1:8000", ClientSecret(CLIENT_ID, CLIENT_SECRET)) as client:
>>> #     for customer in client.v3.customers():
>>> #         for job in client.v3.jobs(customer.id, job_type="Microsoft 365"):
>>> #             print(customer.organization, job.job_module, job.status, job.backup_size)

``client.v3`` calls the v3 API, ``client.modern`` the Modern API; listings are iterators
that fetch page after page to the end. A token is fetched on first use, kept, and
fetched again before it expires, or once when the service answers 401.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from functools import wraps
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Concatenate, Generic, ParamSpec, Self, TypeVar

import httpx

from backupjobs import __version__
from backupjobs.sdk import alerts, reports
from backupjobs.sdk.credentials import Credential
from backupjobs.sdk.endpoints import Endpoints
from backupjobs.sdk.errors import ConfigurationError, problem_error
from backupjobs.sdk.flows import (
    Authorize,
    Call,
    Driving,
    Fetching,
    Flow,
    PageWalk,
    Send,
    answer,
    token,
)
from backupjobs.sdk.profiles import Profile, load_profile
from backupjobs.sdk.records import Page
from backupjobs.sdk.reports import Progress
from backupjobs.sdk.retry import Retry
from backupjobs.sdk.tokens import AccessToken, TokenCache

T = TypeVar("T")
P = ParamSpec("P")
Plan = TypeVar("Plan")
Result = TypeVar("Result")
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)
AnyClient = TypeVar("AnyClient", "Client", "AsyncClient")

TOKEN_PATH = "/connect/token"  # noqa: S105 - a path, not a secret
USER_AGENT = f"backupjobs-sdk/{__version__} httpx/{httpx.__version__}"


def _scope_text(scope: str | Iterable[str] | None) -> str | None:
    if scope is None or isinstance(scope, str):
        return scope or None
    return " ".join(scope) or None


def _checked_url(url: str, what: str) -> str:
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"the {what} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


ACCEPT = "application/json, */*;q=0.1"


class _Clients(Generic[HttpClient]):
    """What both clients are made of and show: configuration, the token cache, the HTTP
    client. The calls are the flows' and plans' (in :mod:`~backupjobs.sdk.flows`,
    :mod:`~backupjobs.sdk.endpoints`, :mod:`~backupjobs.sdk.reports` and
    :mod:`~backupjobs.sdk.alerts`); each client only carries them out."""

    _http_class: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        token_url: str | None = None,
        scope: str | Iterable[str] | None = None,
        retry: Retry | None = None,
        timeout: float | httpx.Timeout = 30.0,
        refresh_margin: float = 60.0,
        http_client: HttpClient | None = None,
    ) -> None:
        self.endpoints = Endpoints(_checked_url(base_url, "API base URL"))
        self.token_url = _checked_url(token_url or self.endpoints.url(TOKEN_PATH), "token URL")
        self.credential = credential
        self.retry = retry or Retry()
        #: The token cache: ``client.tokens.clear()`` forces a new token.
        self.tokens = TokenCache(refresh_margin)
        self._scope = _scope_text(scope)
        self._owns_http = http_client is None
        self._http: HttpClient = (
            http_client if http_client is not None else type(self)._http_class(timeout=timeout)
        )
        self._attach()

    def _attach(self) -> None:
        raise NotImplementedError

    def _token_flow(self) -> Flow[AccessToken]:
        return token(self.credential, self.token_url, self._scope, self.retry)

    def _request(self, call: Call, bearer: str | None) -> httpx.Request:
        # JSON first; anything else too (``/partner/$metadata`` is XML, and OData services
        # refuse what Accept excludes).
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, **call.headers}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return self._http.build_request(
            call.method,
            call.url,
            params=call.params or None,
            json=call.json,
            data=call.form,
            headers=headers,
        )

    @classmethod
    def from_profile(cls, profile: Profile | str | None = None, **options: Any) -> Self:
        """A client from a :class:`~backupjobs.sdk.Profile`, or the profile of that name
        (default: ``BACKUPJOBS_PROFILE``, else ``default``) with the ``BACKUPJOBS_*``
        environment variables over it; ``options`` as for the constructor.

        >>> # with Client.from_profile("vendor", retry=Retry(attempts=6)) as client: ...
        """
        chosen = profile if isinstance(profile, Profile) else load_profile(profile)
        return cls(
            chosen.api_url,
            chosen.credential(),
            token_url=chosen.token_url,
            scope=chosen.scope,
            **options,
        )

    def _request_flow(
        self, method: str, path: str, params: Mapping[str, str | int] | None, json: Any
    ) -> Flow[httpx.Response]:
        pairs = tuple((str(k), str(v)) for k, v in (params or {}).items())
        call = Call(method.upper(), self.endpoints.url(path), pairs, json=json)
        return answer(call, self.retry)


class _Part(Generic[AnyClient]):
    """A part of a client (``client.v3``, ``client.modern``, ``client.reports``,
    ``client.webhooks``)."""

    def __init__(self, client: AnyClient) -> None:
        self._client: AnyClient = client

    def __init_subclass__(cls) -> None:
        # A method made by _method is named as the part calls it, not as its plan.
        for name, value in vars(cls).items():
            if hasattr(value, "__wrapped__"):
                value.__name__, value.__qualname__ = name, f"{cls.__qualname__}.{name}"


def _method(
    plan: Callable[Concatenate[Endpoints, P], Plan],
    carry_out: Callable[[AnyClient, Plan], Result],
) -> Callable[Concatenate[_Part[AnyClient], P], Result]:
    """A part's method for an endpoint declared once as a ``plan`` (in
    :mod:`~backupjobs.sdk.endpoints`, :mod:`~backupjobs.sdk.reports`,
    :mod:`~backupjobs.sdk.alerts`): the plan made with the caller's arguments, then
    ``carry_out`` by the part's client, blocking or with asyncio. The method has the
    plan's docstring and parameters (but the endpoints)."""

    @wraps(plan)
    def method(part: _Part[AnyClient], /, *args: P.args, **kwargs: P.kwargs) -> Result:
        return carry_out(part._client, plan(part._client.endpoints, *args, **kwargs))

    _, *parameters = inspect.signature(plan).parameters.values()
    part = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = inspect.Signature([part, *parameters])  # type: ignore[attr-defined]
    return method


# --- the blocking client ---------------------------------------------------------------


class Paginator(Generic[T]):
    """Every item of a paged listing, page after page to the end, fetched as you iterate.

    >>> # jobs = client.v3.jobs(customer_id)
    >>> # for job in jobs: ...
    >>> # jobs.total        # once the first page has arrived (None if not given)
    >>> # for page in client.v3.jobs(customer_id, page_size=20).pages(): ...
    """

    def __init__(self, client: Client, walk: PageWalk[T]) -> None:
        self._client = client
        self._walk = walk
        self.total: int | None = None

    def pages(self) -> Iterator[Page[T]]:
        call: Call | None = self._walk.first
        while call is not None:
            page = self._client.run(self._walk.page(call, self._client.retry))
            self.total = page.total
            yield page
            call = page.next_call

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


def _fetch(client: Client, plan: Fetching[T]) -> T:
    return client.run(plan.flow(client.retry))


def _each(client: Client, walk: PageWalk[T]) -> Iterator[T]:
    return iter(Paginator(client, walk))


class V3(_Part["Client"]):
    """The v3 API (POST, paged by ``pageIndex``, integer codes). ``client.v3``.

    >>> # client.v3.jobs(customer_id, job_type="Microsoft 365", job_module=302)
    """

    customers = _method(Endpoints.v3_customers, Paginator)
    jobs = _method(Endpoints.v3_jobs, Paginator)


class Modern(_Part["Client"]):
    """The Modern API (GET, OData, names). ``client.modern``.

    >>> # client.modern.service(customer_id, "Microsoft 365", "SharePoint Online")
    """

    customers = _method(Endpoints.modern_customers, Paginator)
    customer = _method(Endpoints.modern_customer, _fetch)
    jobs = _method(Endpoints.modern_jobs, Paginator)
    service = _method(Endpoints.modern_service, _fetch)


class Reports(_Part["Client"]):
    """This product's reports (``/api/v1``, either jobs permission). ``client.reports``.

    >>> # for job in client.reports.history(status="Failed", since=timedelta(days=7)): ...
    """

    history = _method(reports.history, Paginator)
    services = _method(reports.services, Paginator)
    summary = _method(reports.summary, _fetch)
    daily = _method(reports.daily, Paginator)

    def export(
        self,
        target: str | Path | BinaryIO,
        *,
        format: str = "csv",
        progress: Progress | None = None,
        **filters: Any,
    ) -> int:
        """Write the history (``history``'s filters) to ``target``, a path or a binary
        stream, as ``csv`` or ``ndjson``, as it arrives; the rows written. ``progress``
        is called with the rows and bytes so far."""
        call = reports.export(self._client.endpoints, format, filters)
        with (
            self._client._streamed(call) as response,
            reports.export_sink(target, format, progress) as sink,
        ):
            for chunk in response.iter_bytes():
                sink.write(chunk)
        return sink.rows


class Webhooks(_Part["Client"]):
    """``client.webhooks``: alert subscriptions and their deliveries (see
    :mod:`~backupjobs.sdk.alerts`)."""

    create = _method(alerts.create, _fetch)
    list = _method(alerts.listing, _each)
    get = _method(alerts.get, _fetch)
    update = _method(alerts.update, _fetch)
    delete = _method(alerts.delete, _fetch)
    rotate_secret = _method(alerts.rotate_secret, _fetch)
    test = _method(alerts.test, _fetch)
    deliveries = _method(alerts.deliveries, _each)
    delivery = _method(alerts.delivery, _fetch)
    redeliver = _method(alerts.redeliver, _fetch)


class Client(_Clients[httpx.Client]):
    """A blocking client for both API generations.

    ``base_url`` is where the API is served; ``token_url`` where tokens are issued
    (default ``base_url + "/connect/token"``; the vendor's is on another host).
    ``credential`` is a :class:`~backupjobs.sdk.ClientSecret` or a
    :class:`~backupjobs.sdk.ClientCertificate`; ``scope`` the permissions to ask for
    (default: all the app has). ``retry`` bounds the retries on 429, 503 and network
    failures; ``refresh_margin`` is how many seconds before expiry a token is replaced.
    Pass ``http_client`` to bring your own ``httpx.Client`` (proxies, certificates,
    event hooks); it is then yours to close.

    It is safe to share between threads. Use it as a context manager, or ``close()`` it.
    """

    _http_class = httpx.Client

    def _attach(self) -> None:
        self._token_lock = threading.Lock()
        self.v3 = V3(self)
        self.modern = Modern(self)
        self.webhooks = Webhooks(self)
        self.reports = Reports(self)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Any other endpoint under the base URL, with the token, retries and errors of
        the rest: ``client.request("GET", "/api/v1/...")``. Raises on an error answer."""
        return self.run(self._request_flow(method, path, params, json))

    def authenticate(self) -> AccessToken:
        """The current token, fetched now if there is none or it is due: a way to check
        the credentials (and see the granted ``scope``) before anything else."""
        return self._token(None)

    def run(self, flow: Flow[T]) -> T:
        """Carry out a flow (see :mod:`backupjobs.sdk.flows`) with blocking I/O."""
        driving = Driving(flow)
        while (effect := driving.effect) is not None:
            if isinstance(effect, Send):
                request = self._request(effect.call, effect.bearer)
                try:
                    driving.answer(self._http.send(request))
                except httpx.TransportError as error:
                    driving.fail(error)
            elif isinstance(effect, Authorize):
                driving.answer(self._token(effect.refused).value)
            else:
                time.sleep(effect.seconds)
                driving.answer(None)
        return driving.result

    def _token(self, refused: str | None) -> AccessToken:
        with self._token_lock:
            cached = self.tokens.usable(now=time.monotonic(), refused=refused)
            if cached is not None:
                return cached
            fresh: AccessToken = self.run(self._token_flow())
            self.tokens.store(fresh)
            return fresh

    @contextmanager
    def _streamed(self, call: Call) -> Iterator[httpx.Response]:
        """The answer to ``call``, its body still to read; its error raised."""
        request = self._request(call, self.authenticate().value)
        response = self._http.send(request, stream=True)
        try:
            if not response.is_success:
                response.read()
                raise problem_error(response)
            yield response
        finally:
            response.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --- the async client ------------------------------------------------------------------


class AsyncPaginator(Generic[T]):
    """:class:`Paginator` for :class:`AsyncClient`: ``async for job in ...``."""

    def __init__(self, client: AsyncClient, walk: PageWalk[T]) -> None:
        self._client = client
        self._walk = walk
        self.total: int | None = None

    async def pages(self) -> AsyncIterator[Page[T]]:
        call: Call | None = self._walk.first
        while call is not None:
            page = await self._client.run(self._walk.page(call, self._client.retry))
            self.total = page.total
            yield page
            call = page.next_call

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()


async def _fetch_async(client: AsyncClient, plan: Fetching[T]) -> T:
    return await client.run(plan.flow(client.retry))


def _each_async(client: AsyncClient, walk: PageWalk[T]) -> AsyncIterator[T]:
    return aiter(AsyncPaginator(client, walk))


class AsyncV3(_Part["AsyncClient"]):
    """:class:`V3` for :class:`AsyncClient`."""

    customers = _method(Endpoints.v3_customers, AsyncPaginator)
    jobs = _method(Endpoints.v3_jobs, AsyncPaginator)


class AsyncModern(_Part["AsyncClient"]):
    """:class:`Modern` for :class:`AsyncClient`."""

    customers = _method(Endpoints.modern_customers, AsyncPaginator)
    customer = _method(Endpoints.modern_customer, _fetch_async)
    jobs = _method(Endpoints.modern_jobs, AsyncPaginator)
    service = _method(Endpoints.modern_service, _fetch_async)


class AsyncReports(_Part["AsyncClient"]):
    """:class:`Reports` for the :class:`AsyncClient` (``async for``, ``await``)."""

    history = _method(reports.history, AsyncPaginator)
    services = _method(reports.services, AsyncPaginator)
    summary = _method(reports.summary, _fetch_async)
    daily = _method(reports.daily, AsyncPaginator)

    async def export(
        self,
        target: str | Path | BinaryIO,
        *,
        format: str = "csv",
        progress: Progress | None = None,
        **filters: Any,
    ) -> int:
        """:meth:`Reports.export` (the file is written as the answer arrives)."""
        call = reports.export(self._client.endpoints, format, filters)
        async with self._client._streamed(call) as response:
            with reports.export_sink(target, format, progress) as sink:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
        return sink.rows


class AsyncWebhooks(_Part["AsyncClient"]):
    """:class:`Webhooks` for the :class:`AsyncClient`: the same, awaited."""

    create = _method(alerts.create, _fetch_async)
    list = _method(alerts.listing, _each_async)
    get = _method(alerts.get, _fetch_async)
    update = _method(alerts.update, _fetch_async)
    delete = _method(alerts.delete, _fetch_async)
    rotate_secret = _method(alerts.rotate_secret, _fetch_async)
    test = _method(alerts.test, _fetch_async)
    deliveries = _method(alerts.deliveries, _each_async)
    delivery = _method(alerts.delivery, _fetch_async)
    redeliver = _method(alerts.redeliver, _fetch_async)


class AsyncClient(_Clients[httpx.AsyncClient]):
    """:class:`Client` for asyncio: the same arguments (``http_client`` an
    ``httpx.AsyncClient``), the same calls awaited, listings iterated with ``async for``.

    >>> # async with AsyncClient(base_url, ClientSecret(client_id, secret)) as client:
    >>> #     async for customer in client.modern.customers():
    >>> #         job = await client.modern.service(customer.id, "Microsoft 365", "OneDrive")
    """

    _http_class = httpx.AsyncClient

    def _attach(self) -> None:
        self._token_lock = asyncio.Lock()
        self.v3 = AsyncV3(self)
        self.modern = AsyncModern(self)
        self.webhooks = AsyncWebhooks(self)
        self.reports = AsyncReports(self)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """See :meth:`Client.request`."""
        return await self.run(self._request_flow(method, path, params, json))

    async def authenticate(self) -> AccessToken:
        """See :meth:`Client.authenticate`."""
        return await self._token(None)

    async def run(self, flow: Flow[T]) -> T:
        """Carry out a flow (see :mod:`backupjobs.sdk.flows`) with asyncio I/O."""
        driving = Driving(flow)
        while (effect := driving.effect) is not None:
            if isinstance(effect, Send):
                request = self._request(effect.call, effect.bearer)
                try:
                    driving.answer(await self._http.send(request))
                except httpx.TransportError as error:
                    driving.fail(error)
            elif isinstance(effect, Authorize):
                driving.answer((await self._token(effect.refused)).value)
            else:
                await asyncio.sleep(effect.seconds)
                driving.answer(None)
        return driving.result

    async def _token(self, refused: str | None) -> AccessToken:
        async with self._token_lock:
            cached = self.tokens.usable(now=time.monotonic(), refused=refused)
            if cached is not None:
                return cached
            fresh: AccessToken = await self.run(self._token_flow())
            self.tokens.store(fresh)
            return fresh

    @asynccontextmanager
    async def _streamed(self, call: Call) -> AsyncIterator[httpx.Response]:
        """See :meth:`Client._streamed`."""
        request = self._request(call, (await self.authenticate()).value)
        response = await self._http.send(request, stream=True)
        try:
            if not response.is_success:
                await response.aread()
                raise problem_error(response)
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
