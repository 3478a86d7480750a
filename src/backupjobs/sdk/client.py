"""The clients: :class:`Client` (blocking) and :class:`AsyncClient`, with the same surface.

>>> from backupjobs.sdk import Client, ClientSecret
>>> # with Client("http://127.0.0.1:8000", ClientSecret(CLIENT_ID, CLIENT_SECRET)) as client:
>>> #     for customer in client.v3.customers():
>>> #         for job in client.v3.jobs(customer.id, job_type="Microsoft 365"):
>>> #             print(customer.name, job.job_module, job.status, job.backup_size)

``client.v3`` calls the v3 API, ``client.modern`` the Modern API; listings are iterators
that fetch page after page to the end. A token is fetched on first use, kept, and
fetched again before it expires, or once when the service answers 401.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from backupjobs import __version__
from backupjobs.sdk.credentials import Credential
from backupjobs.sdk.endpoints import CodeOrName, Endpoints
from backupjobs.sdk.errors import ConfigurationError, problem_error
from backupjobs.sdk.flows import (
    Authorize,
    Call,
    Effect,
    Flow,
    PageWalk,
    Send,
    exchange,
    fetch,
    token,
)
from backupjobs.sdk.profiles import Profile, load_profile
from backupjobs.sdk.records import Customer, Job, Page
from backupjobs.sdk.retry import Retry
from backupjobs.sdk.tokens import AccessToken, TokenCache

T = TypeVar("T")
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)

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


class _Session(Generic[HttpClient]):
    """What both clients hold: configuration, the token cache, the HTTP client."""

    def __init__(
        self,
        http: HttpClient | None,
        make_http: Callable[..., HttpClient],
        *,
        base_url: str,
        credential: Credential,
        token_url: str | None,
        scope: str | Iterable[str] | None,
        retry: Retry | None,
        timeout: float | httpx.Timeout,
        refresh_margin: float,
    ) -> None:
        self.endpoints = Endpoints(_checked_url(base_url, "API base URL"))
        self.token_url = _checked_url(token_url or self.endpoints.url(TOKEN_PATH), "token URL")
        self.credential = credential
        self.scope = _scope_text(scope)
        self.retry = retry or Retry()
        self.tokens = TokenCache(refresh_margin)
        self.owns_http = http is None
        self.http: HttpClient = http if http is not None else make_http(timeout=timeout)

    def token_flow(self) -> Flow[AccessToken]:
        return token(self.credential, self.token_url, self.scope, self.retry)

    def request(self, call: Call, bearer: str | None) -> httpx.Request:
        # JSON first; anything else too (``/partner/$metadata`` is XML, and OData services
        # refuse what Accept excludes).
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, **call.headers}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.http.build_request(
            call.method,
            call.url,
            params=call.params or None,
            json=call.json,
            data=call.form,
            headers=headers,
        )

    def call(self, method: str, path: str, params: Any, json: Any) -> Call:
        pairs = tuple((str(k), str(v)) for k, v in (params or {}).items())
        return Call(method.upper(), self.endpoints.url(path), pairs, json=json)


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


class V3:
    """The v3 API (POST, paged by ``pageIndex``, integer codes). ``client.v3``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def customers(
        self, customer_ids: Sequence[str] | None = None, *, page_size: int = 100
    ) -> Paginator[Customer]:
        """The app's customers by name; ``customer_ids`` keeps only those (permission
        ``elements.customers.read.all``)."""
        walk = self._client.endpoints.v3_customers(customer_ids, page_size=page_size)
        return Paginator(self._client, walk)

    def jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int = 100,
    ) -> Paginator[Job]:
        """Each backup service of a customer with its latest job (or never run), by type
        then module; ``job_type``/``job_module`` (codes or names) filter on the service
        (permission ``elements.jobs.read.all``).

        >>> # client.v3.jobs(customer_id, job_type="Microsoft 365", job_module=302)
        """
        walk = self._client.endpoints.v3_jobs(
            customer_id, job_type=job_type, job_module=job_module, page_size=page_size
        )
        return Paginator(self._client, walk)


class Modern:
    """The Modern API (GET, OData, names). ``client.modern``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def customers(
        self, *, page_size: int | None = None, count: bool = False
    ) -> Paginator[Customer]:
        """The app's customers by name, following ``@odata.nextLink``; ``page_size`` is
        sent as ``Prefer: odata.maxpagesize`` (the service's page size if None), ``count``
        asks for the total (``$count=true``). Permission ``partner.customers.read.all``."""
        walk = self._client.endpoints.modern_customers(page_size=page_size, count=count)
        return Paginator(self._client, walk)

    def customer(self, customer_id: str) -> Customer:
        """One customer; :class:`~backupjobs.sdk.NotFoundError` if the app cannot see it."""
        call, read = self._client.endpoints.modern_customer(customer_id)
        return self._client.run(fetch(call, read, self._client.retry))

    def jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int | None = None,
        count: bool = False,
    ) -> Paginator[Job]:
        """Each backup service of a customer with its latest job, as :meth:`V3.jobs`
        (permission ``partner.jobs.read.all``). The Modern API has no filter here: the
        SDK filters what it answers, and then ``total`` is None."""
        walk = self._client.endpoints.modern_jobs(
            customer_id,
            job_type=job_type,
            job_module=job_module,
            page_size=page_size,
            count=count,
        )
        return Paginator(self._client, walk)

    def service(self, customer_id: str, job_type: CodeOrName, job_module: CodeOrName) -> Job:
        """One backup service's latest job (the seed endpoint); a service that never ran
        is its placeholder row (``job.has_run`` is False).

        >>> # client.modern.service(customer_id, "Microsoft 365", "SharePoint Online")
        """
        call, read = self._client.endpoints.modern_service(customer_id, job_type, job_module)
        return self._client.run(fetch(call, read, self._client.retry))


class Client:
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
        http_client: httpx.Client | None = None,
    ) -> None:
        self._session = _Session(
            http_client,
            httpx.Client,
            base_url=base_url,
            credential=credential,
            token_url=token_url,
            scope=scope,
            retry=retry,
            timeout=timeout,
            refresh_margin=refresh_margin,
        )
        self._token_lock = threading.Lock()
        self.v3 = V3(self)
        self.modern = Modern(self)

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

    @property
    def endpoints(self) -> Endpoints:
        return self._session.endpoints

    @property
    def retry(self) -> Retry:
        return self._session.retry

    @property
    def tokens(self) -> TokenCache:
        """The token cache: ``client.tokens.clear()`` forces a new token."""
        return self._session.tokens

    @property
    def token_url(self) -> str:
        return self._session.token_url

    @property
    def credential(self) -> Credential:
        return self._session.credential

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
        call = self._session.call(method, path, params, json)
        response = self.run(exchange(lambda: call, self.retry, authorized=True))
        if not response.is_success:
            raise problem_error(response)
        return response

    def authenticate(self) -> AccessToken:
        """The current token, fetched now if there is none or it is due: a way to check
        the credentials (and see the granted ``scope``) before anything else."""
        return self._token(None)

    def run(self, flow: Flow[T]) -> T:
        """Carry out a flow (see :mod:`backupjobs.sdk.flows`) with blocking I/O."""
        reply: Any = None
        failure: BaseException | None = None
        while True:
            try:
                effect: Effect = flow.throw(failure) if failure else flow.send(reply)
            except StopIteration as done:
                result: T = done.value
                return result
            reply, failure = None, None
            if isinstance(effect, Send):
                try:
                    reply = self._session.http.send(
                        self._session.request(effect.call, effect.bearer)
                    )
                except httpx.TransportError as error:
                    failure = error
            elif isinstance(effect, Authorize):
                reply = self._token(effect.refused).value
            else:
                time.sleep(effect.seconds)

    def _token(self, refused: str | None) -> AccessToken:
        with self._token_lock:
            cached = self.tokens.usable(now=time.monotonic(), refused=refused)
            if cached is not None:
                return cached
            fresh: AccessToken = self.run(self._session.token_flow())
            self.tokens.store(fresh)
            return fresh

    def close(self) -> None:
        if self._session.owns_http:
            self._session.http.close()

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


class AsyncV3:
    """:class:`V3` for :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def customers(
        self, customer_ids: Sequence[str] | None = None, *, page_size: int = 100
    ) -> AsyncPaginator[Customer]:
        """See :meth:`V3.customers`."""
        walk = self._client.endpoints.v3_customers(customer_ids, page_size=page_size)
        return AsyncPaginator(self._client, walk)

    def jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int = 100,
    ) -> AsyncPaginator[Job]:
        """See :meth:`V3.jobs`."""
        walk = self._client.endpoints.v3_jobs(
            customer_id, job_type=job_type, job_module=job_module, page_size=page_size
        )
        return AsyncPaginator(self._client, walk)


class AsyncModern:
    """:class:`Modern` for :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def customers(
        self, *, page_size: int | None = None, count: bool = False
    ) -> AsyncPaginator[Customer]:
        """See :meth:`Modern.customers`."""
        walk = self._client.endpoints.modern_customers(page_size=page_size, count=count)
        return AsyncPaginator(self._client, walk)

    async def customer(self, customer_id: str) -> Customer:
        """See :meth:`Modern.customer`."""
        call, read = self._client.endpoints.modern_customer(customer_id)
        return await self._client.run(fetch(call, read, self._client.retry))

    def jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int | None = None,
        count: bool = False,
    ) -> AsyncPaginator[Job]:
        """See :meth:`Modern.jobs`."""
        walk = self._client.endpoints.modern_jobs(
            customer_id,
            job_type=job_type,
            job_module=job_module,
            page_size=page_size,
            count=count,
        )
        return AsyncPaginator(self._client, walk)

    async def service(self, customer_id: str, job_type: CodeOrName, job_module: CodeOrName) -> Job:
        """See :meth:`Modern.service`."""
        call, read = self._client.endpoints.modern_service(customer_id, job_type, job_module)
        return await self._client.run(fetch(call, read, self._client.retry))


class AsyncClient:
    """:class:`Client` for asyncio: the same arguments (``http_client`` an
    ``httpx.AsyncClient``), the same calls awaited, listings iterated with ``async for``.

    >>> # async with AsyncClient(base_url, ClientSecret(client_id, secret)) as client:
    >>> #     async for customer in client.modern.customers():
    >>> #         job = await client.modern.service(customer.id, "Microsoft 365", "OneDrive")
    """

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
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._session = _Session(
            http_client,
            httpx.AsyncClient,
            base_url=base_url,
            credential=credential,
            token_url=token_url,
            scope=scope,
            retry=retry,
            timeout=timeout,
            refresh_margin=refresh_margin,
        )
        self._token_lock = asyncio.Lock()
        self.v3 = AsyncV3(self)
        self.modern = AsyncModern(self)

    @classmethod
    def from_profile(cls, profile: Profile | str | None = None, **options: Any) -> Self:
        """A client from a :class:`~backupjobs.sdk.Profile`, or the profile of that name
        (default: ``BACKUPJOBS_PROFILE``, else ``default``) with the ``BACKUPJOBS_*``
        environment variables over it; ``options`` as for the constructor.

        >>> # with AsyncClient.from_profile("vendor", retry=Retry(attempts=6)) as client: ...
        """
        chosen = profile if isinstance(profile, Profile) else load_profile(profile)
        return cls(
            chosen.api_url,
            chosen.credential(),
            token_url=chosen.token_url,
            scope=chosen.scope,
            **options,
        )

    @property
    def endpoints(self) -> Endpoints:
        return self._session.endpoints

    @property
    def retry(self) -> Retry:
        return self._session.retry

    @property
    def tokens(self) -> TokenCache:
        """See :attr:`Client.tokens`."""
        return self._session.tokens

    @property
    def token_url(self) -> str:
        return self._session.token_url

    @property
    def credential(self) -> Credential:
        return self._session.credential

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """See :meth:`Client.request`."""
        call = self._session.call(method, path, params, json)
        response = await self.run(exchange(lambda: call, self.retry, authorized=True))
        if not response.is_success:
            raise problem_error(response)
        return response

    async def authenticate(self) -> AccessToken:
        """See :meth:`Client.authenticate`."""
        return await self._token(None)

    async def run(self, flow: Flow[T]) -> T:
        """Carry out a flow (see :mod:`backupjobs.sdk.flows`) with asyncio I/O."""
        reply: Any = None
        failure: BaseException | None = None
        while True:
            try:
                effect: Effect = flow.throw(failure) if failure else flow.send(reply)
            except StopIteration as done:
                result: T = done.value
                return result
            reply, failure = None, None
            if isinstance(effect, Send):
                try:
                    reply = await self._session.http.send(
                        self._session.request(effect.call, effect.bearer)
                    )
                except httpx.TransportError as error:
                    failure = error
            elif isinstance(effect, Authorize):
                reply = (await self._token(effect.refused)).value
            else:
                await asyncio.sleep(effect.seconds)

    async def _token(self, refused: str | None) -> AccessToken:
        async with self._token_lock:
            cached = self.tokens.usable(now=time.monotonic(), refused=refused)
            if cached is not None:
                return cached
            fresh: AccessToken = await self.run(self._session.token_flow())
            self.tokens.store(fresh)
            return fresh

    async def aclose(self) -> None:
        if self._session.owns_http:
            await self._session.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
