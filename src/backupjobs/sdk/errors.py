"""What the SDK raises: every exception is a :class:`BackupJobsError`.

>>> from backupjobs.sdk import NotFoundError
>>> # try:
>>> #     client.modern.customer("5f0c...")
>>> # except NotFoundError as error:
>>> #     print(error.status, error.title, error.detail)
>>> #     404 Not Found Customer '5f0c...' was not found.

An error answer from an API endpoint is a :class:`ProblemError` carrying the RFC 9457
fields (``type``, ``title``, ``status``, ``detail``), one subclass per status a caller
may want to catch. An error from the token endpoint is an :class:`OAuthError` carrying
the RFC 6749 fields (``error``, ``error_description``), except a 429 or 503 there, which
is a problem like anywhere else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import httpx

_MAX_TEXT = 300


class BackupJobsError(Exception):
    """The base of every error the SDK raises."""


class UnreachableError(BackupJobsError):
    """No answer: the connection failed or timed out on every attempt.

    The ``httpx`` exception of the last attempt is the ``__cause__``.
    """


class WireFormatError(BackupJobsError):
    """A successful answer that does not have the documented shape.

    ``field`` names the JSON member (``"backupSize"``, ``"data"``) and ``value`` is what
    was found there.
    """

    def __init__(self, field: str, value: object, expected: str) -> None:
        shown = repr(value)
        if len(shown) > _MAX_TEXT:
            shown = shown[:_MAX_TEXT] + "..."
        super().__init__(f"{field}: expected {expected}, got {shown}")
        self.field = field
        self.value = value
        self.expected = expected


class ConfigurationError(BackupJobsError, ValueError):
    """The client's configuration cannot be used: a credential, a URL, a profile.

    Raised before any request is sent; the message says what to fix.
    """


class ResponseError(BackupJobsError):
    """An error answer: ``status``, the ``response`` itself and its ``retry_after``.

    ``retry_after`` is the wait in seconds the service asked for (``Retry-After``), or
    None. ``challenge`` holds the parameters of a ``WWW-Authenticate: Bearer`` header
    (``error``, ``error_description``, ``scope``), empty if there was none.
    """

    def __init__(self, message: str, response: httpx.Response) -> None:
        request = response.request
        super().__init__(f"{message} ({request.method} {request.url.copy_with(query=None)})")
        self.response = response
        self.status = response.status_code
        self.retry_after = retry_after(response)
        self.challenge = bearer_challenge(response.headers.get("www-authenticate", ""))


class ProblemError(ResponseError):
    """An RFC 9457 problem: ``type``, ``title``, ``status``, ``detail``, ``instance``.

    An answer without a problem body gets ``type`` ``"about:blank"``, the status phrase
    as ``title`` and the start of its text as ``detail``.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        type: str,
        title: str,
        detail: str,
        instance: str | None = None,
    ) -> None:
        super().__init__(f"{response.status_code} {title}: {detail}", response)
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance


class BadRequestError(ProblemError):
    """400: the request named something the service does not accept (``detail`` says what)."""


class AuthenticationError(ProblemError):
    """401: the access token was missing, malformed, expired or not this service's.

    The client has already fetched a new token and tried once more.
    """


class PermissionDeniedError(ProblemError):
    """403: the token lacks the permission; ``challenge["scope"]`` names it."""


class NotFoundError(ProblemError):
    """404: no such customer for this app (or no such path)."""


class RateLimitedError(ProblemError):
    """429: over the app's quota, on every attempt the retry policy allowed."""


class ServiceUnavailableError(ProblemError):
    """503: the service (or its database) is unavailable, on every attempt allowed."""


class ServerError(ProblemError):
    """Another 5xx: the service failed to handle the request."""


class OAuthError(ResponseError):
    """The token endpoint refused: RFC 6749 ``error``, ``error_description``, ``error_uri``.

    ``invalid_client`` (unknown client, wrong or expired secret, a refused assertion),
    ``invalid_scope``, ``unsupported_grant_type``, ``invalid_request``.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        error: str,
        error_description: str | None,
        error_uri: str | None,
    ) -> None:
        text = f"{error}: {error_description}" if error_description else error
        super().__init__(f"{response.status_code} {text}", response)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri


_PROBLEM_CLASSES: dict[int, type[ProblemError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def problem_error(response: httpx.Response) -> ProblemError:
    """The :class:`ProblemError` subclass for an error answer of an API endpoint."""
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = _json_object(response) or {}
    odata = body.get("error")
    if isinstance(odata, dict):  # an OData error object (the Modern feeds)
        body = {"detail": _text(odata.get("message"))}
    detail = _text(body.get("detail"))
    if detail is None:
        detail = response.text.strip()[:_MAX_TEXT] or phrase
    kind = _PROBLEM_CLASSES.get(status, ServerError if status >= 500 else ProblemError)
    return kind(
        response,
        type=_text(body.get("type")) or "about:blank",
        title=_text(body.get("title")) or phrase,
        detail=detail,
        instance=_text(body.get("instance")),
    )


def token_error(response: httpx.Response) -> ResponseError:
    """An :class:`OAuthError` for an RFC 6749 error body, else a :class:`ProblemError`."""
    body = _json_object(response)
    error = _text(body.get("error")) if body else None
    if body is None or error is None:
        return problem_error(response)
    return OAuthError(
        response,
        error=error,
        error_description=_text(body.get("error_description")),
        error_uri=_text(body.get("error_uri")),
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``Retry-After`` (a number or an HTTP date), None if absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    sent = response.headers.get("date")
    try:
        now = parsedate_to_datetime(sent) if sent else None
    except (TypeError, ValueError):
        now = None
    if now is None or now.tzinfo is None:
        now = datetime.now(UTC)
    return max((moment - now).total_seconds(), 0.0)


def bearer_challenge(header: str) -> dict[str, str]:
    """The parameters of ``WWW-Authenticate: Bearer k="v", ...`` (quoted strings, RFC 6750)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return {}
    found: dict[str, str] = {}
    position = 0
    while position < len(rest):
        name_end = rest.find("=", position)
        if name_end < 0:
            break
        name = rest[position:name_end].strip(" ,")
        position = name_end + 1
        if rest[position : position + 1] == '"':
            value, position = _quoted(rest, position + 1)
        else:
            comma = rest.find(",", position)
            comma = len(rest) if comma < 0 else comma
            value, position = rest[position:comma].strip(), comma
        found[name.lower()] = value
        position = rest.find(",", position)
        if position < 0:
            break
        position += 1
    return found


def _quoted(text: str, start: int) -> tuple[str, int]:
    """A quoted-string's value from just after its opening quote, and where it ends."""
    value = []
    position = start
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            value.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(value), position + 1
        value.append(char)
        position += 1
    return "".join(value), position
