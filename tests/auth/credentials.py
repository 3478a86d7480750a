"""What a partner makes on its side: key pairs, self-signed certificates, client assertions."""

from __future__ import annotations

import functools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from backupjobs.auth.assertions import ASSERTION_TYPE
from backupjobs.auth.certificates import ParsedCertificate, add_certificate, parse_certificate
from backupjobs.store.database import Database

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@functools.cache
def private_key(kind: str = "rsa", number: int = 0) -> PrivateKey:
    """A key pair of ``kind`` (rsa, rsa1024, ec, ec384, ed25519); ``number`` picks another."""
    del number  # part of the cache key only
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


def certificate_pem(
    key: PrivateKey,
    *,
    name: str = "partner app",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> bytes:
    """A self-signed certificate for ``key``, valid for a year from an hour ago by default."""
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(hours=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, algorithm)
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificate(key: PrivateKey, **validity: Any) -> ParsedCertificate:
    return parse_certificate(certificate_pem(key, **validity))


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def assertion(
    key: Any,
    client_id: str,
    audience: str,
    *,
    algorithm: str = "RS256",
    lifetime: float = 300,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion as RFC 7523 wants it; ``claims`` override (None drops one)."""
    now = time.time()
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + lifetime),
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def assertion_form(signed: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **extra,
    }


async def register_certificate(
    db: Database, partner_id: UUID, client_id: str, key: PrivateKey, **validity: Any
) -> ParsedCertificate:
    """Register a certificate for ``key`` to an app, as ``apps add-certificate`` does."""
    parsed = certificate(key, **validity)
    async with db.write() as connection:
        await add_certificate(connection, partner_id, client_id, parsed, now=datetime.now(UTC))
    return parsed
