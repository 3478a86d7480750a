"""The client's logic once, for the sync and the async client alike.

A flow is a generator that yields what it needs done: :class:`Send` a request (the answer
comes back), :class:`Sleep`, or :class:`Authorize` (a bearer token comes back). It never
does I/O itself, so :class:`~backupjobs.sdk.Client` runs it with ``httpx.Client`` and
``time.sleep`` and :class:`~backupjobs.sdk.AsyncClient` with ``httpx.AsyncClient`` and
``asyncio.sleep`` — the way httpx shares its authentication flows. Retries, the token
refresh on 401, error answers and paging are written here and nowhere else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

import httpx

from backupjobs.sdk.credentials import Credential
from backupjobs.sdk.errors import (
    UnreachableError,
    WireFormatError,
    problem_error,
    retry_after,
    token_error,
)
from backupjobs.sdk.records import Page
from backupjobs.sdk.retry import Retry
from backupjobs.sdk.tokens import AccessToken, parse_token

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request to make; built into an ``httpx.Request`` again for every attempt."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``call`` (with ``bearer`` as its token, if any); the answer is sent back."""

    call: Call
    bearer: str | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Authorize:
    """A bearer token is sent back: the cached one, or a new one if it is due or is
    ``refused`` (the token the service just answered 401 to)."""

    refused: str | None = None


Effect = Send | Sleep | Authorize
Flow = Generator[Effect, Any, T]

#: No answer at all: worth another try, as every call of this client is a read (and a
#: token request with a new assertion each time).
RETRYABLE_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Driving(Generic[T]):
    """A flow being carried out: the ``effect`` it waits on (None once it has its
    ``result``), moved on by what came of it. The one loop of either client is::

        driving = Driving(flow)
        while (effect := driving.effect) is not None:
            ...  # do the effect, then driving.answer(reply) or driving.fail(error)
        return driving.result
    """

    _result: T

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self.effect: Effect | None = None
        self.answer(None)

    @property
    def result(self) -> T:
        return self._result

    def answer(self, reply: Any) -> None:
        """The effect's outcome: an answer, a token, or None after a sleep."""
        self._move(lambda: self._flow.send(reply))

    def fail(self, error: BaseException) -> None:
        """The effect failed with ``error`` (raised into the flow)."""
        self._move(lambda: self._flow.throw(error))

    def _move(self, step: Callable[[], Effect]) -> None:
        try:
            self.effect = step()
        except StopIteration as done:
            self.effect = None
            self._result = done.value


def exchange(
    make_call: Callable[[], Call], retry: Retry, *, authorized: bool
) -> Flow[httpx.Response]:
    """Send a request until it gets an answer worth returning, within ``retry``.

    A 401 to an ``authorized`` request is answered with one new token and one more try.
    429 and 503 (and no answer at all) are tried again as ``retry`` says; the last answer
    is returned whatever its status.
    """
    refused: str | None = None
    renewed = False
    attempt = 1
    while True:
        bearer = cast(str, (yield Authorize(refused))) if authorized else None
        call = make_call()
        try:
            response = cast(httpx.Response, (yield Send(call, bearer)))
        except RETRYABLE_FAILURES as error:
            wait = retry.wait(attempt, None)
            if wait is None:
                raise _unreachable(call, error, attempt) from error
        except httpx.TransportError as error:
            raise _unreachable(call, error, attempt) from error
        else:
            if response.status_code == 401 and bearer is not None and not renewed:
                renewed, refused = True, bearer
                continue
            if response.status_code not in retry.statuses:
                return response
            wait = retry.wait(attempt, retry_after(response))
            if wait is None:
                return response
        attempt += 1
        yield Sleep(wait)


def _unreachable(call: Call, error: httpx.TransportError, attempts: int) -> UnreachableError:
    tries = "once" if attempts == 1 else f"{attempts} times"
    detail = str(error) or type(error).__name__
    return UnreachableError(f"no answer from {call.method} {call.url} (tried {tries}): {detail}")


def token(
    credential: Credential, token_url: str, scope: str | None, retry: Retry
) -> Flow[AccessToken]:
    """A new access token from ``token_url``, or the token endpoint's error raised."""

    def make_call() -> Call:
        request = credential.token_request(token_url, scope)
        return Call("POST", token_url, form=request.form, headers=request.headers)

    asked_at = time.monotonic()
    response = yield from exchange(make_call, retry, authorized=False)
    if response.status_code != 200:
        raise token_error(response)
    return parse_token(response, obtained_at=asked_at)


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, once it is known to be a success; else its error raised."""
    if not response.is_success:
        raise problem_error(response)
    try:
        return json.loads(response.content)
    except ValueError:
        raise WireFormatError("response body", response.text[:100], "JSON") from None


def answer(call: Call, retry: Retry) -> Flow[httpx.Response]:
    """The answer to an authorized ``call``; an error answer raised."""
    response = yield from exchange(lambda: call, retry, authorized=True)
    if not response.is_success:
        raise problem_error(response)
    return response


def fetch(call: Call, read: Callable[[Any], T], retry: Retry) -> Flow[T]:
    """``read`` of the JSON answer to an authorized ``call``."""
    response = yield from exchange(lambda: call, retry, authorized=True)
    return read(json_body(response))


class Fetching(Protocol[T_co]):
    """What an endpoint that answers one value plans: its flow, once the client that
    carries it out gives its retry policy. An endpoint that lists plans a
    :class:`PageWalk` instead."""

    def flow(self, retry: Retry) -> Flow[T_co]: ...


@dataclass(frozen=True, slots=True)
class Fetch(Generic[T]):
    """One call, and how to ``read`` its JSON answer."""

    call: Call
    read: Callable[[Any], T]

    def flow(self, retry: Retry) -> Flow[T]:
        return fetch(self.call, self.read, retry)


@dataclass(frozen=True, slots=True)
class PageWalk(Generic[T]):
    """A paged listing: its ``first`` page's call, and how to ``read`` a page's answer
    (the call it answers, and its JSON) into a :class:`Page` that knows the next call."""

    first: Call
    read: Callable[[Call, Any], Page[T]]

    def page(self, call: Call, retry: Retry) -> Flow[Page[T]]:
        response = yield from exchange(lambda: call, retry, authorized=True)
        return self.read(call, json_body(response))


@dataclass(frozen=True, slots=True)
class Gather(Generic[T]):
    """Every page of ``walk`` read, then ``combine``d into one value."""

    walk: PageWalk[Any]
    combine: Callable[[list[Any]], T]

    def flow(self, retry: Retry) -> Flow[T]:
        items: list[Any] = []
        call: Call | None = self.walk.first
        while call is not None:
            page = yield from self.walk.page(call, retry)
            items += page.items
            call = page.next_call
        return self.combine(items)
