"""Signing keys for access tokens, kept in the database and shared by every API process.

Each process caches the keys and reloads them every few seconds (and at once when a token
names a key it has not seen), so a key added or retired by any process or by the operator
takes effect everywhere without a restart.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.secrets import new_id
from backupjobs.store.database import Database
from backupjobs.store.schema import signing_keys

ALGORITHM = "RS256"
_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    signs_from: datetime
    retired_at: datetime | None
    verifies_until: datetime | None

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def signs_at(self, now: datetime) -> bool:
        return self.signs_from <= now and (self.retired_at is None or now < self.retired_at)

    def verifies_at(self, now: datetime) -> bool:
        return self.verifies_until is None or now < self.verifies_until

    def jwk(self) -> dict[str, str]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
            "n": _b64uint(numbers.n),
            "e": _b64uint(numbers.e),
        }


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


async def insert_key(connection: AsyncConnection, *, now: datetime, signs_from: datetime) -> str:
    kid = new_id(8)
    await connection.execute(
        signing_keys.insert().values(
            kid=kid,
            algorithm=ALGORITHM,
            private_key_pem=generate_private_key_pem(),
            created_at=now,
            signs_from=signs_from,
        )
    )
    return kid


async def ensure_signing_key(db: Database, *, now: datetime) -> None:
    """Create the first signing key if there is none that can sign (once, whoever races)."""
    async with db.write() as connection:
        if not db.is_sqlite:
            await connection.execute(text("LOCK TABLE signing_keys IN EXCLUSIVE MODE"))
        usable = await connection.scalar(
            select(func.count())
            .select_from(signing_keys)
            .where(
                signing_keys.c.signs_from <= now,
                or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now),
            )
        )
        if not usable:
            await insert_key(connection, now=now, signs_from=now)


class KeyRing:
    """The signing keys as this process knows them."""

    def __init__(self, db: Database, *, refresh_seconds: float = 10.0) -> None:
        self._db = db
        self._refresh_seconds = refresh_seconds
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        async with self._db.read() as connection:
            rows = (await connection.execute(select(signing_keys))).all()
        keys = {}
        for row in rows:
            cached = self._keys.get(row.kid)
            private_key = (
                cached.private_key
                if cached is not None
                else serialization.load_pem_private_key(row.private_key_pem.encode(), None)
            )
            assert isinstance(private_key, rsa.RSAPrivateKey)
            keys[row.kid] = SigningKey(
                row.kid, private_key, row.signs_from, row.retired_at, row.verifies_until
            )
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def refresh(self, *, force: bool = False) -> None:
        """Reload if the cache is older than the refresh interval (or ``force``, at most 1/s)."""
        age = time.monotonic() - self._loaded_at
        if age < (1.0 if force else self._refresh_seconds):
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= (1.0 if force else self._refresh_seconds):
                await self.load()

    async def signer(self, now: datetime) -> SigningKey:
        """The newest key allowed to sign at ``now``."""
        await self.refresh()
        usable = [key for key in self._keys.values() if key.signs_at(now)]
        if not usable:
            await ensure_signing_key(self._db, now=now)
            await self.refresh(force=True)
            usable = [key for key in self._keys.values() if key.signs_at(now)]
        if not usable:
            raise RuntimeError("no signing key available")
        return max(usable, key=lambda key: key.signs_from)

    async def verification_key(self, kid: str, now: datetime) -> rsa.RSAPublicKey | None:
        key = self._keys.get(kid)
        if key is None:
            await self.refresh(force=True)
            key = self._keys.get(kid)
        if key is None or not key.verifies_at(now):
            return None
        return key.public_key

    async def jwks(self, now: datetime) -> dict[str, Any]:
        await self.refresh()
        published = sorted(
            (key for key in self._keys.values() if key.verifies_at(now)),
            key=lambda key: key.signs_from,
            reverse=True,
        )
        return {"keys": [key.jwk() for key in published]}
