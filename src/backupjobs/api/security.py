"""Bearer-token checks (RFC 6750) as typed dependencies.

>>> # @get("/x", dependencies={"principal": authorized(Permission.V3_JOBS_READ)})
>>> # async def handler(principal: Principal) -> ...
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from backupjobs.api.context import services
from backupjobs.api.problems import ProblemError
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import InvalidTokenError, Principal

REALM = "backupjobs"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def challenge(**params: str) -> dict[str, str]:
    """A ``WWW-Authenticate: Bearer`` header with the given parameters."""
    fields = [f'realm="{REALM}"', *(f'{name}="{value}"' for name, value in params.items())]
    return {"WWW-Authenticate": "Bearer " + ", ".join(fields)}


async def authenticate(request: Request[Any, Any, Any]) -> Principal:
    """The principal of the request's bearer token, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
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
        raise ProblemError(
            401,
            f"{str(error).capitalize()}.",
            headers=challenge(error="invalid_token", error_description=str(error)),
        ) from None


def authorized(permission: Permission) -> Provide:
    """A dependency giving the request's :class:`Principal` if it holds ``permission``."""

    async def principal(request: Request[Any, Any, Any]) -> Principal:
        found = await authenticate(request)
        if permission.value not in found.permissions:
            raise ProblemError(
                403,
                f"The access token lacks the permission {permission.value}.",
                headers=challenge(error="insufficient_scope", scope=permission.value),
            )
        return found

    return Provide(principal)
