"""RFC 9457 problem details for every error outside ``/connect/token`` and the OData services.

Handlers raise :class:`ProblemError`; framework errors (unknown route, wrong method,
invalid parameter, body too large) and unexpected failures are turned into the same
shape. Under an OData service root (:data:`ODATA_SERVICE_ROOTS`) the same error is the
OData JSON Format's error object (section 21.1) with ``OData-Version``, which is what OData
clients read (:func:`error_answer`). A body never carries a stack trace, SQL or a path
inside the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap, Scope, Send

from backupjobs.api.outage import STATE_KEY as OUTAGE_KEY
from backupjobs.api.outage import OutageLog
from backupjobs.store.database import database_unavailable

PROBLEM_JSON = "application/problem+json"
_log = structlog.get_logger("backupjobs.api")

#: The roots of the OData services: the Modern feeds and the history feed. The v3 API
#: under ``/partner/external`` is not OData.
ODATA_SERVICE_ROOTS = ("/partner", "/api/v1/odata")
_NOT_ODATA = "/partner/external/"
ODATA_ERROR_JSON = "application/json"
ODATA_VERSION = ("OData-Version", "4.0")


def is_odata_path(path: str) -> bool:
    """Whether ``path`` is in an OData service (its errors are OData error objects)."""
    return not path.startswith(_NOT_ODATA) and any(
        path == root or path.startswith(f"{root}/") for root in ODATA_SERVICE_ROOTS
    )


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An error, as RFC 9457 ``application/problem+json``."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class ODataErrorDetail(msgspec.Struct, omit_defaults=True):
    """The ``error`` member of an OData error: a code, a message for people, and the
    name of what was wrong (``target``) when there is one."""

    code: str
    message: str
    target: str | None = None


class ODataError(msgspec.Struct):
    """An error, as the OData JSON Format writes it (section 21.1)."""

    error: ODataErrorDetail


class ProblemError(Exception):
    """Raise to answer with a problem: ``ProblemError(404, "Customer ... was not found.")``.

    ``target`` names the query option, header or key at fault (an OData error's target).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.target = target


def error_answer(
    path: str,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    target: str | None = None,
    instance: bool = True,
) -> tuple[bytes, str, list[tuple[str, str]]]:
    """An error's body, its media type and the headers its kind adds: an OData error
    object under an OData service root, else an RFC 9457 problem (naming ``path`` as its
    instance unless ``instance`` is false)."""
    title = title or HTTPStatus(status).phrase
    if is_odata_path(path):
        code = "".join(word[:1].upper() + word[1:] for word in title.split())
        body = ODataError(ODataErrorDetail(code=code, message=detail, target=target))
        return msgspec.json.encode(body), ODATA_ERROR_JSON, [ODATA_VERSION]
    problem = ProblemDetails(
        type="about:blank",
        title=title,
        status=status,
        detail=detail,
        instance=path if instance else None,
    )
    return msgspec.json.encode(problem), PROBLEM_JSON, []


async def send_error(
    scope: Scope,
    send: Send,
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    instance: bool = True,
) -> None:
    """Answer an error from ASGI middleware (before routing), as :func:`error_answer`."""
    body, media_type, added = error_answer(scope["path"], status, detail, instance=instance)
    fields = [*dict(headers or {}).items(), *added]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *((name.lower().encode(), value.encode()) for name, value in fields),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    target: str | None = None,
) -> Response[bytes]:
    body, media_type, added = error_answer(
        request.url.path, status, detail, title=title, target=target
    )
    return Response(
        body,
        status_code=status,
        media_type=media_type,
        headers={**dict(headers or {}), **dict(added)},
    )


def _on_problem(request: Request[Any, Any, Any], error: ProblemError) -> Response[bytes]:
    return problem_response(
        request,
        error.status,
        error.detail,
        title=error.title,
        headers=error.headers,
        target=error.target,
    )


def _on_validation(request: Request[Any, Any, Any], error: ValidationException) -> Response[bytes]:
    details = []
    for item in error.extra if isinstance(error.extra, list) else []:
        if isinstance(item, dict) and item.get("key"):
            source = getattr(item.get("source"), "value", item.get("source")) or "request"
            message = item.get("message", "invalid")
            details.append(f"Invalid {source} parameter {item['key']}: {message}.")
    detail = " ".join(details) or str(error.detail)
    return problem_response(request, 400, detail)


_GENERIC_DETAIL = {
    404: "No resource at this path.",
    405: "This method is not allowed on this path.",
    413: "The request body is larger than this server accepts.",
}


#: What Litestar says when the body ends before its Content-Length (the client closed).
_BODY_CUT_SHORT = "client disconnected prematurely"


def _on_http(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    if status == 500 and error.detail == _BODY_CUT_SHORT:
        # The client's mistake, not the server's: a 400 it may still read.
        return problem_response(
            request, 400, "The request body ended before its Content-Length was reached."
        )
    if status >= 500:
        return _on_unexpected(request, error)
    detail = _GENERIC_DETAIL.get(status) or str(error.detail)
    headers = dict(error.headers or {})
    return problem_response(request, status, detail, headers=headers)


#: Seconds a client should wait before retrying while the database is unreachable.
RETRY_AFTER_UNAVAILABLE = 5


def database_refused(request: Request[Any, Any, Any], error: BaseException) -> None:
    """Count a request refused for want of the database in the application's
    :class:`~.outage.OutageLog`, which logs the outage (not each request)."""
    outage: OutageLog | None = request.app.state.get(OUTAGE_KEY)
    if outage is None:
        _log.warning("database unavailable", path=request.url.path, error=type(error).__name__)
    else:
        outage.refused(error)


def _on_database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    database_refused(request, error)
    return problem_response(
        request,
        503,
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
    )


def _on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    if database_unavailable(error):
        return _on_database_unavailable(request, error)
    _log.error(
        "unhandled error",
        method=request.method,
        path=request.url.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem_response(request, 500, "The server failed to handle this request.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ProblemError: _on_problem,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}


def _error_responses(
    body: type[Any], media_type: str, statuses: tuple[int, ...]
) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=body, description=HTTPStatus(status).phrase, media_type=media_type
        )
        for status in statuses
    }


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems an operation can answer with."""
    return _error_responses(ProblemDetails, PROBLEM_JSON, statuses)


def odata_error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the OData errors an OData operation can answer with."""
    return _error_responses(ODataError, ODATA_ERROR_JSON, statuses)


__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "ODataError",
    "ProblemDetails",
    "ProblemError",
    "error_answer",
    "is_odata_path",
    "odata_error_responses",
    "problem_response",
    "problem_responses",
]
