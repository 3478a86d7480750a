"""HTTP Basic sign-in on the OData services, for Power BI and Excel (``docs/powerbi.md``).

Power Query's credential kinds are Anonymous, Windows, Basic, Web API key and
Organizational account; a bearer token pasted into a query expires within the hour, so a
scheduled refresh needs credentials it can keep. Basic is the standard one of those that
an OAuth2 client (client id and secret) maps onto. It is accepted only under the OData
service roots (:func:`~.problems.is_odata_path`), belongs behind HTTPS like any
password, and is:

- verified once, then kept by a keyed hash for a short time (:mod:`backupjobs.auth.basic`);
- rate-limited as the token endpoint is: each verification counts against the client
  address's and the client's token policies, and each request against the app's quota;
- audited: every verification, accepted or refused, is a ``backupjobs.audit`` log line.
"""

from __future__ import annotations

from typing import Any

import structlog

from backupjobs.api.ratelimit import RateLimiter, ratelimit_headers
from backupjobs.auth.apps import ClientAuthenticationError
from backupjobs.auth.basic import BasicVerifier, decode_basic
from backupjobs.auth.tokens import Principal

_audit = structlog.get_logger("backupjobs.audit")
_LOGGED_ID_LENGTH = 100


class CredentialsRefused(Exception):
    """Basic credentials that were not accepted: ``status`` 401, or 429 past a limit."""

    def __init__(
        self, message: str, *, status: int = 401, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class BasicSignIn:
    """Basic credentials to a principal: the verifier, behind the token rate limits."""

    def __init__(self, verifier: BasicVerifier, limiter: RateLimiter) -> None:
        self._verifier = verifier
        self._limiter = limiter

    async def principal(self, asgi_scope: Any, encoded: bytes) -> Principal | CredentialsRefused:
        """Whom the credentials ``encoded`` (after ``Basic ``) sign in as, or why not."""
        fingerprint = self._verifier.fingerprint(encoded)
        principal = self._verifier.cached(fingerprint)
        if principal is not None:
            return principal
        limiter = self._limiter
        client = asgi_scope.get("client")
        address = client[0] if client else "unknown"
        audit = _audit.bind(address=address, method="basic", path=asgi_scope["path"])
        by_address = await limiter.hit(limiter.token_address, address)
        if by_address is not None and by_address.limited:
            refusal = by_address.refusal("from this address")
            audit.info("basic sign-in refused", reason="rate_limited", detail=refusal)
            return CredentialsRefused(refusal, status=429, headers=ratelimit_headers([by_address]))
        client_id: str | None = None
        try:
            client_id, secret = decode_basic(encoded)
            principal = await self._verifier.verify(fingerprint, client_id, secret)
        except ClientAuthenticationError as error:
            logged = client_id[:_LOGGED_ID_LENGTH] if client_id else None
            audit.info("basic sign-in refused", client_id=logged, reason="invalid_client",
                       detail=str(error))  # fmt: skip
            return CredentialsRefused(f"Basic credentials refused: {error}")
        by_client = await limiter.hit(limiter.token_client, principal.client_id)
        if by_client is not None and by_client.limited:
            refusal = by_client.refusal("for this client")
            audit.info("basic sign-in refused", client_id=principal.client_id,
                       reason="rate_limited", detail=refusal)  # fmt: skip
            return CredentialsRefused(refusal, status=429, headers=ratelimit_headers([by_client]))
        audit.info("basic sign-in", client_id=principal.client_id)
        return principal
