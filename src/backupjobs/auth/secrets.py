"""Client secrets: 256 random bits, shown once, stored as a SHA-256 digest.

A secret with full entropy cannot be guessed from its digest, so a deliberately slow
hash (bcrypt, argon2) would cost every token request without adding safety.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "bjs_"  # noqa: S105 - marks secrets for secret scanners


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def secret_matches(secret: str, digest: bytes) -> bool:
    """Constant-time comparison of ``secret`` against a stored digest."""
    return hmac.compare_digest(hash_secret(secret), digest)


def new_id(nbytes: int = 12) -> str:
    """A short random identifier for credentials and keys."""
    return secrets.token_hex(nbytes)
