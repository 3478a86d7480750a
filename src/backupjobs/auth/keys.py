"""Signing keys for access tokens, kept in the database and shared by every API process.

Each process caches the keys and reloads them every few seconds (and at once when a token
names a key it has not seen; the JWKS is read afresh on every request), so a key added or
retired by any process or by the operator takes effect everywhere without a restart.

Rotation (``backupjobs keys rotate``): the new key is published at once and signs from
``signs_from`` (after a grace period, so that whoever caches the JWKS has fetched it); the
keys it replaces stop signing then, keep verifying until the last token they signed has
expired, and then leave the JWKS.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.secrets import new_id
from backupjobs.store.database import Database
from backupjobs.store.schema import signing_keys

ALGORITHM = "RS256"
_RSA_BITS = 2048
#: How far apart the clocks of two hosts (or of a client and this service) may be.
CLOCK_SKEW = timedelta(seconds=60)
#: How often a process reloads the keys; also how long it may sign with a key another
#: process has just retired.
REFRESH_SECONDS = 10.0
_FORCED_RELOAD_SECONDS = 0.1
#: Retired keys are deleted this long after they stopped verifying.
_PURGE_AFTER = timedelta(days=1)


def verification_overlap(token_lifetime: int) -> timedelta:
    """How long a retired key must keep verifying: its last token's life, and then some.

    A process learns of a retirement at its next reload, so it may sign with the retired
    key for up to ``REFRESH_SECONDS`` more; hosts' clocks may differ by ``CLOCK_SKEW``.
    """
    return timedelta(seconds=token_lifetime + REFRESH_SECONDS) + CLOCK_SKEW


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

    def verifies_at(self, now: datetime, overlap: timedelta) -> bool:
        """Whether tokens it signed may still be alive: ``overlap`` past its retirement.

        ``verifies_until`` (set by the rotation, from the operator's token lifetime) may
        extend that, never shorten it below this process's own token lifetime.
        """
        if self.retired_at is None:
            return True
        until = self.retired_at + overlap
        if self.verifies_until is not None:
            until = max(until, self.verifies_until)
        return now < until

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


async def _lock_keys(connection: AsyncConnection) -> None:
    """Serialize key changes across processes (SQLite: the write lock already does)."""
    if connection.dialect.name != "sqlite":
        await connection.execute(text("LOCK TABLE signing_keys IN EXCLUSIVE MODE"))


async def ensure_signing_key(db: Database, *, now: datetime) -> None:
    """Create the first signing key if there is none that can sign (once, whoever races)."""
    async with db.write() as connection:
        await _lock_keys(connection)
        if not await _signing_keys_at(connection, now):
            await insert_key(connection, now=now, signs_from=now)


async def _signing_keys_at(connection: AsyncConnection, now: datetime) -> int:
    """How many keys may sign at ``now``."""
    found = await connection.scalar(
        select(func.count())
        .select_from(signing_keys)
        .where(
            signing_keys.c.signs_from <= now,
            or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now),
        )
    )
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing key as operators see it (never its private half)."""

    kid: str
    algorithm: str
    created_at: datetime
    signs_from: datetime
    retired_at: datetime | None
    verifies_until: datetime | None

    def state(self, now: datetime) -> str:
        if now < self.signs_from and (self.retired_at is None or self.retired_at > now):
            return "next"
        if self.retired_at is None or now < self.retired_at:
            return "signing"
        if self.verifies_until is None or now < self.verifies_until:
            return "verifying"
        return "expired"


@dataclass(frozen=True, slots=True)
class Rotation:
    new: KeyInfo
    retiring: tuple[KeyInfo, ...]
    purged: tuple[str, ...]


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        row.kid, row.algorithm, row.created_at, row.signs_from, row.retired_at, row.verifies_until
    )


async def list_keys(db: Database) -> list[KeyInfo]:
    """Every key in the database, newest first."""
    async with db.read() as connection:
        rows = await connection.execute(
            select(signing_keys).order_by(signing_keys.c.signs_from.desc(), signing_keys.c.kid)
        )
        return [_info(row) for row in rows]


async def rotate_keys(
    db: Database, *, now: datetime, grace: timedelta, token_lifetime: int
) -> Rotation:
    """Add a key that signs from ``now + grace``; the keys signing until then retire then.

    A retiring key verifies until ``verification_overlap(token_lifetime)`` past its
    retirement. Keys that stopped verifying more than a day ago are deleted.
    """
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    async with db.write() as connection:
        await _lock_keys(connection)
        # With no key signing now there is nothing to hand over from: sign at once.
        signs_from = now + grace if await _signing_keys_at(connection, now) else now
        verifies_until = signs_from + verification_overlap(token_lifetime)
        purged = (
            await connection.scalars(
                delete(signing_keys)
                .where(signing_keys.c.verifies_until < now - _PURGE_AFTER)
                .returning(signing_keys.c.kid)
            )
        ).all()
        # Keys still signing at ``signs_from`` (the current one, and any earlier rotation's
        # key that has not started yet) stop then.
        retiring = (
            await connection.scalars(
                select(signing_keys.c.kid).where(
                    or_(
                        signing_keys.c.retired_at.is_(None),
                        signing_keys.c.retired_at > signs_from,
                    )
                )
            )
        ).all()
        await connection.execute(
            update(signing_keys)
            .where(signing_keys.c.kid.in_(retiring))
            .values(retired_at=signs_from, verifies_until=verifies_until)
        )
        kid = await insert_key(connection, now=now, signs_from=signs_from)
        rows = await connection.execute(
            select(signing_keys).where(signing_keys.c.kid.in_([kid, *retiring]))
        )
        keys = {row.kid: _info(row) for row in rows}
    return Rotation(keys.pop(kid), tuple(sorted(keys.values(), key=lambda k: k.kid)), tuple(purged))


class KeyRing:
    """The signing keys as this process knows them.

    ``token_lifetime`` is the lifetime of the tokens this process signs: a retired key
    keeps verifying at least that long (see :func:`verification_overlap`).
    """

    def __init__(
        self,
        db: Database,
        *,
        token_lifetime: int,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._db = db
        self._overlap = verification_overlap(token_lifetime)
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
        """Reload if the cache is older than the refresh interval.

        ``force`` (a token names a key this process does not know) reloads at once, at
        most every ``_FORCED_RELOAD_SECONDS``: tokens with made-up key ids cannot flood
        the database.
        """
        wait = _FORCED_RELOAD_SECONDS if force else self._refresh_seconds
        if time.monotonic() - self._loaded_at < wait:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= wait:
                await self.load()

    async def signer(self, now: datetime) -> SigningKey:
        """The newest key allowed to sign at ``now``."""
        await self.refresh()
        usable = [key for key in self._keys.values() if key.signs_at(now)]
        if not usable:
            await ensure_signing_key(self._db, now=now)
            await self.load()
            usable = [key for key in self._keys.values() if key.signs_at(now)]
        if not usable:
            raise RuntimeError("no signing key available")
        return max(usable, key=lambda key: key.signs_from)

    async def verification_key(self, kid: str, now: datetime) -> rsa.RSAPublicKey | None:
        key = self._keys.get(kid)
        if key is None:
            await self.refresh(force=True)
            key = self._keys.get(kid)
        if key is None or not key.verifies_at(now, self._overlap):
            return None
        return key.public_key

    async def jwks(self, now: datetime) -> dict[str, Any]:
        """The public keys that verify tokens at ``now``, read afresh from the database.

        A rotated-in key must be published at once, before any process signs with it.
        """
        await self.load()
        published = sorted(
            (key for key in self._keys.values() if key.verifies_at(now, self._overlap)),
            key=lambda key: key.signs_from,
            reverse=True,
        )
        return {"keys": [key.jwk() for key in published]}
