"""HTTP Basic credentials (RFC 7617): an app's client id and secret, for clients that
cannot hold a token, such as Power BI's scheduled refresh of an OData feed.

>>> # verifier = BasicVerifier(db)
>>> # key = verifier.fingerprint(b"Y2xpZW50OnNlY3JldA==")   # the header's credentials
>>> # principal = verifier.cached(key) or await verifier.verify(key, "client", "secret")

A verified credential is kept by its *fingerprint*, a keyed hash (HMAC-SHA256 under a key
drawn at random by each process) of the header's encoded credentials: the secret itself
is decoded only to verify it, and is not kept. Each later request costs that hash and a
dictionary lookup. A kept credential is trusted :data:`RECHECK_SECONDS` at most, and never
past its secret's expiry: a removed secret, or a changed app, stops working within that
time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from datetime import UTC, datetime

from backupjobs.auth.apps import ClientAuthenticationError, secret_holder
from backupjobs.auth.tokens import Principal
from backupjobs.infra.cache import BoundedCache
from backupjobs.store.database import Database

#: Verified credentials each process keeps; past this, the oldest go first.
CREDENTIALS_CACHED = 10_000
#: Seconds a verified credential is trusted before it is verified again.
RECHECK_SECONDS = 30.0


def decode_basic(encoded: bytes) -> tuple[str, str]:
    """The client id and secret of Basic credentials (``base64(id:secret)``); a
    :class:`ClientAuthenticationError` saying what is wrong with malformed ones."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ClientAuthenticationError(
            "malformed Basic credentials: base64 of client id, ':', client secret"
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or "\x00" in decoded:
        raise ClientAuthenticationError(
            "malformed Basic credentials: base64 of client id, ':', client secret"
        )
    return client_id, secret


class BasicVerifier:
    """Verifies an app's client id and secret; keeps what it verified by fingerprint."""

    def __init__(self, db: Database, *, recheck: float = RECHECK_SECONDS) -> None:
        self._db = db
        self._recheck = recheck
        self._key = secrets.token_bytes(32)
        # By fingerprint: the principal and until when it is trusted (epoch seconds).
        self._verified: BoundedCache[bytes, tuple[Principal, float]] = BoundedCache(
            CREDENTIALS_CACHED
        )

    def fingerprint(self, encoded: bytes) -> bytes:
        """The keyed hash the credentials are kept by."""
        return hmac.digest(self._key, encoded, "sha256")

    def cached(self, fingerprint: bytes) -> Principal | None:
        """The principal of credentials verified less than the recheck time ago (no I/O)."""
        kept = self._verified.get(fingerprint)
        if kept is not None and time.time() < kept[1]:
            return kept[0]
        return None

    async def verify(
        self, fingerprint: bytes, client_id: str, secret: str, *, now: datetime | None = None
    ) -> Principal:
        """The app's principal (every permission of the app) if ``secret`` is one of its
        unexpired secrets; else :class:`ClientAuthenticationError`, and forgotten."""
        now = now or datetime.now(UTC)
        try:
            # A read: a write's commit would make the read model forget its pages.
            async with self._db.read() as connection:
                app, matched = await secret_holder(connection, client_id, secret, now=now)
        except ClientAuthenticationError:
            self._verified.pop(fingerprint)
            raise
        principal = Principal(app.client_id, app.partner_id, app.permissions)
        trusted_until = min(now.timestamp() + self._recheck, matched.expires_at.timestamp())
        self._verified.put(fingerprint, (principal, trusted_until))
        return principal
