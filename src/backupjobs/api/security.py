"""Bearer-token checks (RFC 6750): a guard per protected route, the principal injected.

>>> # @post("/y", guards=[requires(Permission.V3_CUSTOMERS_READ)], security=SECURITY)
>>> # async def handler(principal: Principal) -> ...:

Guards run before the parameters are read, so a request without a token is a 401
whatever its parameters. The token itself is verified once per request
(:mod:`.bearer`). The job pages check the same way from a ``before_request`` hook
instead (:mod:`.jobpages`, which says why).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard, Scope

from backupjobs.api.basic import CredentialsRefused
from backupjobs.api.bearer import authorization, verified
from backupjobs.api.context import app_context
from backupjobs.api.problems import ProblemError, is_odata_path
from backupjobs.auth.permissions import Permission
from backupjobs.auth.tokens import Principal

REALM = "backupjobs"
#: ASGI scope key of the principal a request was authorized as.
PRINCIPAL = "backupjobs.principal"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
#: The challenge of HTTP Basic, which the OData services accept too (:mod:`.basic`).
BASIC = f'Basic realm="{REALM}", charset="UTF-8"'


def challenge(**params: str) -> dict[str, str]:
    """A ``WWW-Authenticate: Bearer`` header with the given parameters."""
    fields = [f'realm="{REALM}"', *(f'{name}="{value}"' for name, value in params.items())]
    return {"WWW-Authenticate": "Bearer " + ", ".join(fields)}


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], permission: Permission
) -> Principal:
    """The request's principal if its token holds ``permission``; else a 401 or 403
    problem. The principal is kept for :func:`principal_of`."""
    context = app_context(connection)
    outcome = await verified(connection.scope, context.verifier, context.basic)
    odata = is_odata_path(connection.scope["path"])
    if outcome is None:
        if odata:
            raise ProblemError(
                401,
                "Credentials are required: send 'Authorization: Bearer <token>', or the "
                "app's client id and secret as 'Authorization: Basic ...' (docs/powerbi.md).",
                headers={"WWW-Authenticate": f"{challenge()['WWW-Authenticate']}, {BASIC}"},
            )
        raise ProblemError(
            401,
            "An access token is required: send 'Authorization: Bearer <token>'.",
            headers=challenge(),
        )
    if isinstance(outcome, CredentialsRefused):
        headers = outcome.headers if outcome.status == 429 else {"WWW-Authenticate": BASIC}
        raise ProblemError(outcome.status, f"{outcome}.", headers=headers)
    if not isinstance(outcome, Principal):
        # Capitalised by hand: str.capitalize() would lower-case the URLs it may name.
        said = str(outcome)
        raise ProblemError(
            401,
            f"{said[:1].upper()}{said[1:]}.",
            headers=challenge(error="invalid_token", error_description=str(outcome)),
        )
    if permission.value not in outcome.permissions:
        given = authorization(connection.scope)
        holder = "The app" if given and given[0] == b"basic" else "The access token"
        raise ProblemError(
            403,
            f"{holder} lacks the permission {permission.value}.",
            headers=challenge(error="insufficient_scope", scope=permission.value),
        )
    connection.scope[PRINCIPAL] = outcome  # type: ignore[literal-required]
    return outcome


def requires(permission: Permission) -> Guard:
    """A guard: the request's token must hold ``permission`` (:func:`authorize`)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        await authorize(connection, permission)

    return guard


def principal_of(scope: Scope) -> Principal:
    """The principal :func:`authorize` found for this request (``scope``: its ASGI
    scope): the ``principal`` dependency of the routes behind :func:`requires`."""
    found: Principal = scope[PRINCIPAL]  # type: ignore[literal-required]
    return found
