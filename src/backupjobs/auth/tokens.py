"""Access tokens: RFC 9068 JWTs, signed RS256 with a key named by ``kid``.

>>> # issuer = TokenIssuer(key_ring, issuer="https://jobs.example", lifetime=3600)
>>> # token, claims = await issuer.issue(app, scope, now=now)
>>> # principal = await TokenVerifier(key_ring, issuer="https://jobs.example").verify(token)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt

from backupjobs.auth.apps import App
from backupjobs.auth.keys import ALGORITHM, KeyRing
from backupjobs.auth.secrets import new_id
from backupjobs.infra.cache import BoundedCache
from backupjobs.store.scope import TenantScope

TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 media type
PARTNER_CLAIM = "partner_id"
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "iat", "exp", "jti", "scope"]
#: Verified tokens each process keeps until they expire; past this, the oldest go first.
TOKENS_CACHED = 50_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The app a request acts for, from its verified access token."""

    client_id: str
    partner_id: UUID
    permissions: frozenset[str]

    @property
    def tenant_scope(self) -> TenantScope:
        """The customers this app may see (its permissions are the token's OAuth scope)."""
        return TenantScope(self.partner_id, self.client_id)


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or not ours; ``str()`` says which."""


def audience_of(issuer: str) -> str:
    """Tokens are issued for this service's API, which lives at the issuer's base URL."""
    return issuer


class TokenIssuer:
    def __init__(self, keys: KeyRing, *, issuer: str, lifetime: int) -> None:
        self._keys = keys
        self.issuer = issuer
        self.lifetime = lifetime

    async def issue(self, app: App, scope: frozenset[str], *, now: datetime) -> str:
        key = await self._keys.signer(now)
        issued_at = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": audience_of(self.issuer),
            "sub": app.client_id,
            "client_id": app.client_id,
            PARTNER_CLAIM: str(app.partner_id),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self.lifetime,
            "jti": new_id(16),
            "scope": " ".join(sorted(scope)),
        }
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": TOKEN_TYPE},
        )


class TokenVerifier:
    """Checks bearer tokens; a token verified once is cached until it expires."""

    def __init__(self, keys: KeyRing, *, issuer: str) -> None:
        self._keys = keys
        self._issuer = issuer
        # By token: its principal and when it expires (epoch seconds).
        self._verified: BoundedCache[str, tuple[Principal, float]] = BoundedCache(TOKENS_CACHED)

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not expired since (no I/O)."""
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        return None

    async def verify(self, token: str, *, now: datetime | None = None) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if (time.time() if now is None else now.timestamp()) < cached[1]:
                return cached[0]
            self._verified.pop(token)
        principal, expires = await self._decode(token, now or datetime.now(UTC))
        self._verified.put(token, (principal, expires))
        return principal

    async def _decode(self, token: str, now: datetime) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidTokenError("the access token is malformed") from None
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise InvalidTokenError("the access token is not an RS256 at+jwt token")
        kid = header.get("kid")
        key = await self._keys.verification_key(kid, now) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("the access token was not signed by this service")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience_of(self._issuer),
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the access token has expired") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            # Checked after the signature: this service's key signed it, for another address.
            raise InvalidTokenError(self._issued_elsewhere(token, key)) from None
        except jwt.PyJWTError:
            raise InvalidTokenError("the access token is invalid") from None
        try:
            principal = Principal(
                client_id=str(claims["client_id"]),
                partner_id=UUID(str(claims[PARTNER_CLAIM])),
                permissions=frozenset(str(claims["scope"]).split()),
            )
        except (KeyError, ValueError):
            raise InvalidTokenError("the access token is invalid") from None
        return principal, float(claims["exp"])

    def _issued_elsewhere(self, token: str, key: Any) -> str:
        """Why a token signed by this service's key names another issuer or audience: the
        same keys serve another public URL (another deployment on this database, or a
        proxy that forwards another address than clients use)."""
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"verify_aud": False, "verify_iss": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return "the access token is invalid"
        audience = claims.get("aud")
        if isinstance(audience, list):
            audience = " ".join(str(item) for item in audience)
        expected = audience_of(self._issuer)
        if audience == expected:  # the audience is ours, the issuer another's
            said = (
                f"its issuer is {_shown(claims.get('iss'))}, this service is {_shown(self._issuer)}"
            )
        else:
            said = f"its audience is {_shown(audience)}, this service's is {_shown(expected)}"
        return (
            f"the access token was issued for another address: {said} (get a token from "
            f"{_shown(self._issuer)}/connect/token, or set BACKUPJOBS_PUBLIC_URL to the "
            "address clients use)"
        )


def _shown(value: object) -> str:
    """A claim in a message and an RFC 6750 ``error_description``: printable ASCII without
    quotes or backslashes, 200 characters at most."""
    text = "".join(c for c in str(value) if " " <= c <= "~" and c not in '"\\')
    return text[:200] or "(none)"
