"""A request's credentials, verified once: the first to ask verifies, the rest reuse it.

>>> # outcome = await verified(asgi_scope, verifier, basic)
>>> # Principal, InvalidTokenError, CredentialsRefused, or None

The per-app rate limit (ASGI middleware, :mod:`.ratelimit`) needs the app a request acts
for before the route runs; authentication (:mod:`.security`, and the job pages' hook)
needs it again. The first of them verifies the credentials and leaves the outcome in the
ASGI scope under :data:`VERIFIED`: the principal, the error that refused them, or None
when the request has none. The credentials are a bearer token, or, under the OData
service roots only, an app's client id and secret as HTTP Basic (:mod:`.basic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backupjobs.api.problems import is_odata_path
from backupjobs.auth.tokens import InvalidTokenError, Principal, TokenVerifier

if TYPE_CHECKING:  # at run time, .basic imports .ratelimit, which imports this module
    from backupjobs.api.basic import BasicSignIn, CredentialsRefused

#: ASGI scope key of a request's verified credentials: see :func:`verified`.
VERIFIED = "backupjobs.verified_token"


def authorization(asgi_scope: Any) -> tuple[bytes, bytes] | None:
    """The scheme (lower case) and credentials of the request's first ``Authorization``
    header, read from the ASGI scope; None without one."""
    for name, value in asgi_scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            return scheme.lower(), credentials.strip()
    return None


async def verified(
    asgi_scope: Any, verifier: TokenVerifier, basic: BasicSignIn | None = None
) -> Principal | InvalidTokenError | CredentialsRefused | None:
    """The outcome of verifying the request's credentials, verified on the first call
    for this request only."""
    if VERIFIED in asgi_scope:
        found: Principal | InvalidTokenError | CredentialsRefused | None = asgi_scope[VERIFIED]
        return found
    given = authorization(asgi_scope)
    outcome: Principal | InvalidTokenError | CredentialsRefused | None = None
    if given is not None and given[1]:
        scheme, credentials = given
        if scheme == b"bearer":
            token = credentials.decode("latin-1")
            outcome = verifier.cached(token)
            if outcome is None:
                try:
                    outcome = await verifier.verify(token)
                except InvalidTokenError as error:
                    outcome = error
        elif scheme == b"basic" and basic is not None and is_odata_path(asgi_scope["path"]):
            outcome = await basic.principal(asgi_scope, credentials)
    asgi_scope[VERIFIED] = outcome
    return outcome
