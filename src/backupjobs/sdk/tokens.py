"""Access tokens: what the token endpoint answered, and when to ask again.

>>> cache = TokenCache(refresh_margin=60)
>>> cache.store(AccessToken("eyJ...", expires_in=3600, scope=None, obtained_at=0.0))
>>> cache.usable(now=100.0).value
'eyJ...'
>>> cache.usable(now=3550.0) is None   # within the margin: time for a new one
True

Times are ``time.monotonic()`` seconds, so a change of the wall clock does not matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from backupjobs.sdk.errors import ConfigurationError, WireFormatError


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token, its lifetime in seconds (None if not given) and granted scope."""

    value: str
    expires_in: float | None
    scope: str | None
    #: ``time.monotonic()`` when the token was asked for (before it was issued).
    obtained_at: float

    def __repr__(self) -> str:
        return f"AccessToken(expires_in={self.expires_in!r}, scope={self.scope!r})"

    def refresh_at(self, margin: float) -> float | None:
        """When to ask for the next token: ``margin`` seconds (at most half the lifetime)
        before this one expires; None if the service gave no lifetime."""
        if self.expires_in is None:
            return None
        return self.obtained_at + self.expires_in - min(margin, self.expires_in / 2)


class TokenCache:
    """The client's current token; refreshed ``refresh_margin`` seconds before expiry."""

    def __init__(self, refresh_margin: float = 60.0) -> None:
        if refresh_margin < 0:
            raise ConfigurationError("refresh_margin must not be negative")
        self.refresh_margin = refresh_margin
        self._token: AccessToken | None = None

    @property
    def current(self) -> AccessToken | None:
        return self._token

    def usable(self, *, now: float, refused: str | None = None) -> AccessToken | None:
        """The cached token unless it is due for refresh or its value was ``refused``."""
        token = self._token
        if token is None or token.value == refused:
            return None
        refresh_at = token.refresh_at(self.refresh_margin)
        if refresh_at is not None and now >= refresh_at:
            return None
        return token

    def store(self, token: AccessToken) -> None:
        self._token = token

    def clear(self) -> None:
        """Forget the token: the next request asks for a new one (say, after a permission
        was granted to the app)."""
        self._token = None


def parse_token(response: httpx.Response, *, obtained_at: float) -> AccessToken:
    """The token of a successful token endpoint answer (RFC 6749 section 5.1)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        raise WireFormatError("token response", response.text[:100], "a JSON object") from None
    if not isinstance(body, dict):
        raise WireFormatError("token response", body, "a JSON object")
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise WireFormatError("access_token", value, "a token")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise WireFormatError("token_type", token_type, "Bearer")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)  # some servers send it as a string
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in < 0
    ):
        raise WireFormatError("expires_in", expires_in, "a number of seconds")
    scope = body.get("scope")
    return AccessToken(
        value=value,
        expires_in=None if expires_in is None else float(expires_in),
        scope=scope if isinstance(scope, str) else None,
        obtained_at=obtained_at,
    )
