"""Client certificates: the public half of a partner's key pair, for RFC 7523 assertions.

>>> # cert = parse_certificate(Path("partner.pem").read_bytes())
>>> # cert.thumbprint, cert.algorithms   -> ('3F2A...', ('RS256', 'PS256'))

Only the certificate is kept; the private key never leaves the partner. The thumbprint
(SHA-1 of the DER certificate, upper-case hex, as Windows and Azure display it) names a
certificate for operators; authentication never trusts it, only the public key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.store.directory import ConflictError, NotFoundError
from backupjobs.store.schema import app_certificates

RSA_ALGORITHMS = ("RS256", "PS256")
EC_P256_ALGORITHMS = ("ES256",)
_MIN_RSA_BITS = 2048
_PRIVATE_KEY_MARK = b"PRIVATE KEY-----"

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class CertificateError(ValueError):
    """A file that is not a usable client certificate; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class ParsedCertificate:
    pem: str
    thumbprint: str
    thumbprint_sha256: str
    subject: str
    key_type: str
    not_before: datetime
    not_after: datetime
    #: The file also held a private key, which was ignored (and should not travel).
    had_private_key: bool = False

    @property
    def algorithms(self) -> tuple[str, ...]:
        return algorithms_for(self.key_type)


@dataclass(frozen=True, slots=True)
class RegisteredCertificate:
    """A certificate registered to an app, as the token endpoint and operators see it."""

    thumbprint: str
    thumbprint_sha256: str
    subject: str
    key_type: str
    not_before: datetime
    not_after: datetime
    created_at: datetime
    last_used_at: datetime | None
    certificate_pem: str

    @property
    def algorithms(self) -> tuple[str, ...]:
        return algorithms_for(self.key_type)

    def public_key(self) -> PublicKey:
        key = x509.load_pem_x509_certificate(self.certificate_pem.encode()).public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        return key

    def x5t(self) -> str:
        """The JOSE ``x5t`` header value (base64url SHA-1) naming this certificate."""
        return base64.urlsafe_b64encode(bytes.fromhex(self.thumbprint)).rstrip(b"=").decode()

    def x5t_s256(self) -> str:
        digest = bytes.fromhex(self.thumbprint_sha256)
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def algorithms_for(key_type: str) -> tuple[str, ...]:
    return EC_P256_ALGORITHMS if key_type == "EC P-256" else RSA_ALGORITHMS


def _key_type(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < _MIN_RSA_BITS:
            raise CertificateError(
                f"the certificate's RSA key has {key.key_size} bits; at least {_MIN_RSA_BITS}"
                " are required"
            )
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "EC P-256"
        raise CertificateError(
            f"the certificate's EC key is on curve {key.curve.name}; only P-256 (ES256) is accepted"
        )
    raise CertificateError(
        f"the certificate's key is {type(key).__name__.removeprefix('_')}; an RSA (RS256, "
        "PS256) or EC P-256 (ES256) key is required"
    )


def parse_certificate(data: bytes) -> ParsedCertificate:
    """The first certificate of a PEM file (or a DER certificate), checked for use."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificates(data)[0]
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError("the file holds no X.509 certificate (PEM or DER)") from None
    key_type = _key_type(certificate.public_key())
    der = certificate.public_bytes(serialization.Encoding.DER)
    return ParsedCertificate(
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        thumbprint_sha256=hashlib.sha256(der).hexdigest().upper(),
        subject=certificate.subject.rfc4514_string() or "(empty subject)",
        key_type=key_type,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        had_private_key=_PRIVATE_KEY_MARK in data,
    )


def normalize_thumbprint(value: str) -> str:
    """An operator's thumbprint (any case, with or without colons or spaces)."""
    return value.replace(":", "").replace(" ", "").upper()


async def add_certificate(
    connection: AsyncConnection,
    partner_id: UUID,
    client_id: str,
    certificate: ParsedCertificate,
    *,
    now: datetime,
) -> None:
    taken = await connection.scalar(
        select(app_certificates.c.thumbprint).where(
            app_certificates.c.partner_id == partner_id,
            app_certificates.c.client_id == client_id,
            app_certificates.c.thumbprint == certificate.thumbprint,
        )
    )
    if taken is not None:
        raise ConflictError(
            f"certificate {certificate.thumbprint} is already registered to app {client_id}"
        )
    await connection.execute(
        app_certificates.insert().values(
            partner_id=partner_id,
            client_id=client_id,
            thumbprint=certificate.thumbprint,
            thumbprint_sha256=certificate.thumbprint_sha256,
            subject=certificate.subject,
            key_type=certificate.key_type,
            certificate_pem=certificate.pem,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            created_at=now,
        )
    )


async def remove_certificate(
    connection: AsyncConnection, partner_id: UUID, client_id: str, thumbprint: str
) -> None:
    wanted = normalize_thumbprint(thumbprint)
    removed = await connection.execute(
        delete(app_certificates).where(
            app_certificates.c.partner_id == partner_id,
            app_certificates.c.client_id == client_id,
            (app_certificates.c.thumbprint == wanted)
            | (app_certificates.c.thumbprint_sha256 == wanted),
        )
    )
    if not removed.rowcount:
        raise NotFoundError(f"app {client_id} has no certificate {thumbprint}")


async def certificates_of(
    connection: AsyncConnection, client_id: str, *, unexpired_at: datetime | None = None
) -> list[RegisteredCertificate]:
    """The app's certificates, oldest first; ``unexpired_at``: only those not expired then."""
    query = select(
        app_certificates.c.thumbprint,
        app_certificates.c.thumbprint_sha256,
        app_certificates.c.subject,
        app_certificates.c.key_type,
        app_certificates.c.not_before,
        app_certificates.c.not_after,
        app_certificates.c.created_at,
        app_certificates.c.last_used_at,
        app_certificates.c.certificate_pem,
    ).where(app_certificates.c.client_id == client_id)
    if unexpired_at is not None:
        query = query.where(app_certificates.c.not_after > unexpired_at)
    rows = await connection.execute(
        query.order_by(app_certificates.c.created_at, app_certificates.c.thumbprint)
    )
    return [RegisteredCertificate(**row._mapping) for row in rows]


async def record_certificate_use(
    connection: AsyncConnection, client_id: str, thumbprint: str, *, now: datetime
) -> None:
    await connection.execute(
        update(app_certificates)
        .where(
            app_certificates.c.client_id == client_id, app_certificates.c.thumbprint == thumbprint
        )
        .values(last_used_at=now)
    )
