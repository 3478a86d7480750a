"""Bearer-token checks (RFC 6750), as a ``before_request`` hook on each protected route.

>>> # @post("/y", before_request=authorizing(Permission.V3_JOBS_READ))
>>> # async def handler(request: Request) -> ...:
>>> #     principal = principal_of(request)

The hook runs before the parameters are read, so a request without a token is a 401
whatever its parameters, and it costs a fraction of a dependency on the busiest routes.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import BeforeRequestHookHandler

from backupjobs.api.context import services
from backupjobs.api.problems import ProblemError
from backupjobs.api.requests import header
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import InvalidTokenError, Principal

REALM = "backupjobs"
_PRINCIPAL = "backupjobs.principal"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def challenge(**params: str) -> dict[str, str]:
    """A ``WWW-Authenticate: Bearer`` header with the given parameters."""
    fields = [f'realm="{REALM}"', *(f'{name}="{value}"' for name, value in params.items())]
    return {"WWW-Authenticate": "Bearer " + ", ".join(fields)}


async def authenticate(request: Request[Any, Any, Any]) -> Principal:
    """The principal of the request's bearer token, or a 401 problem."""
    scheme, _, token = (header(request, b"authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "An access token is required: send 'Authorization: Bearer <token>'.",
            headers=challenge(),
        )
    try:
        return await services(request).verifier.verify(token)
    except InvalidTokenError as error:
        said = str(error)
        raise ProblemError(
            401,
            f"{said[:1].upper()}{said[1:]}.",
            headers=challenge(error="invalid_token", error_description=str(error)),
        ) from None


async def authorize(request: Request[Any, Any, Any], permission: Permission) -> Principal:
    """The request's :class:`Principal` if its token holds ``permission``; else 401 or 403."""
    found = await authenticate(request)
    if permission.value not in found.permissions:
        raise ProblemError(
            403,
            f"The access token lacks the permission {permission.value}.",
            headers=challenge(error="insufficient_scope", scope=permission.value),
        )
    return found


def authorizing(permission: Permission) -> BeforeRequestHookHandler:
    """A ``before_request`` hook: :func:`authorize`, the principal kept for
    :func:`principal_of`."""

    async def check(request: Request[Any, Any, Any]) -> None:
        request.scope[_PRINCIPAL] = await authorize(request, permission)  # type: ignore[literal-required]

    return check


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The principal :func:`authorizing` found for this request."""
    found: Principal = request.scope[_PRINCIPAL]  # type: ignore[literal-required]
    return found
