"""Client authentication by certificate: RFC 7523 ``private_key_jwt`` assertions.

>>> # app, thumbprint = await authenticate_with_assertion(
>>> #     connection, assertion, client_id=None, audience=endpoint, now=now)

The client signs a short JWT with the private key of a certificate registered to its app:
``iss`` = ``sub`` = client id, ``aud`` = the token endpoint URL, ``exp`` at most ten
minutes ahead, a ``jti`` used once. The signature is checked against every unexpired
certificate of the app, whatever ``kid`` or ``x5t`` the header names (they only choose
which to try first). Each accepted ``jti`` is recorded in the database until the assertion
expires: every API process shares it, so a replay is refused whichever process receives it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from backupjobs.auth.apps import App, ClientAuthenticationError, get_app
from backupjobs.auth.certificates import (
    EC_P256_ALGORITHMS,
    RSA_ALGORITHMS,
    RegisteredCertificate,
    certificates_of,
    record_certificate_use,
)
from backupjobs.auth.keys import CLOCK_SKEW
from backupjobs.store.schema import assertion_jtis

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = (*RSA_ALGORITHMS, *EC_P256_ALGORITHMS)
#: The longest an assertion may live, counted from when it arrives.
MAX_LIFETIME = timedelta(minutes=10)
_MAX_JTI_LENGTH = 255
_UNKNOWN_SIGNER = (
    "the client assertion is not signed by a registered, unexpired certificate of this client"
)


def _refuse(reason: str) -> ClientAuthenticationError:
    return ClientAuthenticationError(f"the client assertion {reason}")


def claimed_client(assertion: str) -> str | None:
    """The client id an assertion claims (``iss``), unverified: for logs only."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refuse("is not a well-formed signed JWT") from None
    return header, claims


def _client_id(claims: dict[str, Any], form_client_id: str | None) -> str:
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not issuer:
        raise _refuse("has no iss claim (it must be the client id)")
    if "\x00" in issuer:
        raise _refuse("has an iss claim with a NUL character")
    if subject != issuer:
        raise _refuse("must have sub equal to iss (both the client id)")
    if form_client_id is not None and form_client_id != issuer:
        raise _refuse("names another client than the client_id parameter")
    return issuer


def _verified_claims(
    assertion: str, algorithm: str, candidates: list[RegisteredCertificate]
) -> tuple[dict[str, Any], RegisteredCertificate]:
    for certificate in candidates:
        try:
            payload = jwt.PyJWS().decode(
                assertion, certificate.public_key(), algorithms=[algorithm]
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise _refuse("is not a well-formed signed JWT") from None
        claims: dict[str, Any] = json.loads(payload)
        return claims, certificate
    raise ClientAuthenticationError(_UNKNOWN_SIGNER)


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"has a {name} claim that is not a number")
    return float(value)


def _check_claims(claims: dict[str, Any], *, audience: str, now: datetime) -> datetime:
    """The assertion's expiry, once its audience, times and jti are acceptable."""
    audiences = claims.get("aud")
    if isinstance(audiences, list) and len(audiences) == 1:
        audiences = audiences[0]
    if audiences != audience:
        raise _refuse(f"is not addressed to this token endpoint (aud must be {audience})")
    moment = now.timestamp()
    skew = CLOCK_SKEW.total_seconds()
    expires = _number(claims, "exp")
    if expires is None:
        raise _refuse("has no exp claim")
    if expires <= moment - skew:
        raise _refuse("has expired")
    not_before = _number(claims, "nbf")
    if not_before is not None and not_before > moment + skew:
        raise _refuse("is not valid yet (nbf)")
    issued = _number(claims, "iat")
    if issued is not None and issued > moment + skew:
        raise _refuse("was issued in the future (iat)")
    # Measured from the client's own start time when it gives one, so that neither clock
    # matters; from now (give or take the skew) otherwise.
    start = issued if issued is not None else not_before
    longest = MAX_LIFETIME.total_seconds()
    if expires > moment + longest + skew or (start is not None and expires - start > longest):
        raise _refuse("lives too long: exp must be at most 10 minutes ahead")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _refuse("has no jti claim")
    if len(jti) > _MAX_JTI_LENGTH:
        raise _refuse(f"has a jti longer than {_MAX_JTI_LENGTH} characters")
    if "\x00" in jti:
        raise _refuse("has a jti with a NUL character")
    return datetime.fromtimestamp(expires, now.tzinfo)


async def _use_jti(
    connection: AsyncConnection, app: App, jti: str, expires: datetime, now: datetime
) -> None:
    """Record ``jti`` as used until the assertion expires; refuse it if it was used.

    A concurrent request with the same jti waits on the primary key, then fails on it.
    """
    await connection.execute(
        delete(assertion_jtis).where(
            assertion_jtis.c.partner_id == app.partner_id,
            assertion_jtis.c.client_id == app.client_id,
            assertion_jtis.c.expires_at <= now,
        )
    )
    try:
        await connection.execute(
            assertion_jtis.insert().values(
                partner_id=app.partner_id,
                client_id=app.client_id,
                jti=jti,
                expires_at=expires + CLOCK_SKEW,
            )
        )
    except IntegrityError:  # the transaction is rolled back: nothing else was written
        raise _refuse("was already used (replayed jti)") from None


async def authenticate_with_assertion(
    connection: AsyncConnection,
    assertion: str,
    *,
    client_id: str | None,
    audience: str,
    now: datetime,
) -> tuple[App, RegisteredCertificate]:
    """The app and certificate that signed ``assertion``, its jti now used up.

    ``connection`` must be in a write transaction: the jti is recorded in it.
    Raises :class:`ClientAuthenticationError` saying what is wrong.
    """
    header, unverified = _unverified(assertion)
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise _refuse(f"must be signed with {', '.join(ALGORITHMS)}, not alg {algorithm!r}")
    claimed = _client_id(unverified, client_id)
    app = await get_app(connection, claimed)
    if app is None:
        raise ClientAuthenticationError(_UNKNOWN_SIGNER)
    usable = [
        certificate
        for certificate in await certificates_of(connection, claimed, unexpired_at=now)
        if algorithm in certificate.algorithms and certificate.not_before <= now + CLOCK_SKEW
    ]
    # The header may name the certificate: try that one first, but trust only the signature.
    named = {header.get("x5t"), header.get("x5t#S256"), header.get("kid")}
    usable.sort(
        key=lambda c: not named & {c.x5t(), c.x5t_s256(), c.thumbprint, c.thumbprint_sha256}
    )
    claims, certificate = _verified_claims(assertion, algorithm, usable)
    expires = _check_claims(claims, audience=audience, now=now)
    await _use_jti(connection, app, claims["jti"], expires, now)
    await record_certificate_use(connection, claimed, certificate.thumbprint, now=now)
    return app, certificate
