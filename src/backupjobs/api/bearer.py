"""A request's bearer token, verified once: the first to ask verifies, the rest reuse it.

>>> # outcome = await verified(asgi_scope, verifier)   # Principal, InvalidTokenError, None

The per-app rate limit (ASGI middleware, :mod:`.ratelimit`) needs the app a request acts
for before the route runs; authentication (:mod:`.security`, and the job pages' hook)
needs it again. The first of them verifies the token and leaves the outcome in the ASGI
scope under :data:`VERIFIED`: the principal, the error that refused the token, or None
when the request has no bearer token.
"""

from __future__ import annotations

from typing import Any

from backupjobs.auth.tokens import InvalidTokenError, Principal, TokenVerifier

#: ASGI scope key of a request's verified token: see :func:`verified`.
VERIFIED = "backupjobs.verified_token"

Outcome = Principal | InvalidTokenError | None


def bearer_token(asgi_scope: Any) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header (the first
    ``Authorization`` header), read from the ASGI scope; None without one."""
    for name, value in asgi_scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"bearer":
                return None
            return token.strip().decode("latin-1") or None
    return None


async def verified(asgi_scope: Any, verifier: TokenVerifier) -> Outcome:
    """The outcome of verifying the request's bearer token, verified on the first call
    for this request only."""
    if VERIFIED in asgi_scope:
        outcome: Outcome = asgi_scope[VERIFIED]
        return outcome
    token = bearer_token(asgi_scope)
    if token is None:
        outcome = None
    else:
        outcome = verifier.cached(token)
        if outcome is None:
            try:
                outcome = await verifier.verify(token)
            except InvalidTokenError as error:
                outcome = error
    asgi_scope[VERIFIED] = outcome
    return outcome
