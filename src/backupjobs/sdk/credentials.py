"""How the client proves who it is to the token endpoint: a secret or a certificate.

>>> from backupjobs.sdk import ClientCertificate, ClientSecret
>>> secret = ClientSecret("4ee6c09f-...", "bjs_...")
>>> # certificate = ClientCertificate.from_files("4ee6c09f-...", "partner.key", "partner.pem")

A secret is sent in the form (``client_secret_post``), or in HTTP Basic with
``basic=True``. A certificate never leaves the client: each token request carries a fresh
RFC 7523 assertion signed with its private key (``iss`` = ``sub`` = the client id, ``aud``
= the token URL, a new ``jti``, a short ``exp``), whose header names the certificate by
``x5t`` (base64url SHA-1) and ``kid`` (the SHA-1 thumbprint in hex, as Windows shows it).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from backupjobs.sdk.errors import ConfigurationError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
#: Longest assertion lifetime a token endpoint accepts (backupjobs: 10 minutes).
MAX_ASSERTION_LIFETIME = 600.0
_RSA_ALGORITHMS = ("RS256", "PS256")
_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """The form and headers of one token request."""

    form: dict[str, str]
    headers: dict[str, str]


class Credential(Protocol):
    """What the client needs of a credential: its id and a token request to send."""

    @property
    def client_id(self) -> str: ...

    def token_request(self, token_url: str, scope: str | None) -> TokenRequest:
        """The request for a token from ``token_url``; built again for every attempt."""
        ...


def _grant(scope: str | None, **fields: str) -> dict[str, str]:
    form = {"grant_type": CLIENT_CREDENTIALS, **fields}
    if scope:
        form["scope"] = scope
    return form


class ClientSecret:
    """A client id and one of its secrets.

    >>> ClientSecret("my-client", "bjs_secret")
    ClientSecret(client_id='my-client', client_secret=<hidden>)
    """

    def __init__(self, client_id: str, client_secret: str, *, basic: bool = False) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("a client secret needs both the client id and the secret")
        self._client_id = client_id
        self._secret = client_secret
        self.basic = basic

    @property
    def client_id(self) -> str:
        return self._client_id

    def __repr__(self) -> str:
        return f"ClientSecret(client_id={self._client_id!r}, client_secret=<hidden>)"

    def token_request(self, token_url: str, scope: str | None) -> TokenRequest:
        if not self.basic:
            return TokenRequest(
                _grant(scope, client_id=self._client_id, client_secret=self._secret), {}
            )
        # RFC 6749 2.3.1: each part form-encoded, then the pair in base64.
        pair = f"{quote_plus(self._client_id)}:{quote_plus(self._secret)}"
        encoded = base64.b64encode(pair.encode()).decode("ascii")
        return TokenRequest(_grant(scope), {"Authorization": f"Basic {encoded}"})


PathLike = str | os.PathLike[str]


class ClientCertificate:
    """A client id and a certificate registered to it, with the certificate's private key.

    ``private_key`` and ``certificate`` are PEM (the certificate may also be DER);
    ``password`` opens an encrypted key. The algorithm follows the key: RS256 for RSA
    (``algorithm="PS256"`` if wanted), ES256 for EC P-256. ``lifetime`` is how long each
    assertion is valid, in seconds (at most 600).

    >>> # ClientCertificate("my-client", key_pem, certificate_pem).thumbprint
    >>> # '3F2A...'
    """

    def __init__(
        self,
        client_id: str,
        private_key: bytes | str,
        certificate: bytes | str,
        *,
        password: bytes | str | None = None,
        algorithm: str | None = None,
        lifetime: float = 300.0,
    ) -> None:
        if not client_id:
            raise ConfigurationError("a client certificate needs the client id")
        if not 0 < lifetime <= MAX_ASSERTION_LIFETIME:
            raise ConfigurationError(
                f"the assertion lifetime must be more than 0 and at most "
                f"{MAX_ASSERTION_LIFETIME:.0f} seconds, not {lifetime}"
            )
        self._client_id = client_id
        self._key = _load_private_key(_as_bytes(private_key), password)
        self._certificate = _load_certificate(_as_bytes(certificate))
        if _public_der(self._certificate.public_key()) != _public_der(self._key.public_key()):
            raise ConfigurationError("the private key does not belong to the certificate")
        self.algorithm = _algorithm(self._key, algorithm)
        self.lifetime = lifetime
        der = self._certificate.public_bytes(serialization.Encoding.DER)
        sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
        #: SHA-1 of the DER certificate in upper-case hex, as ``apps add-certificate`` shows it.
        self.thumbprint = sha1.hex().upper()
        self._x5t = base64.urlsafe_b64encode(sha1).rstrip(b"=").decode("ascii")

    @classmethod
    def from_files(
        cls,
        client_id: str,
        private_key: PathLike,
        certificate: PathLike | None = None,
        *,
        password: bytes | str | None = None,
        algorithm: str | None = None,
        lifetime: float = 300.0,
    ) -> ClientCertificate:
        """Read the key and the certificate from files; one PEM file may hold both.

        >>> # ClientCertificate.from_files("my-client", "partner.key", "partner.pem")
        >>> # ClientCertificate.from_files("my-client", "partner-with-key.pem")
        """
        key_bytes = _read(private_key, "private key")
        certificate_bytes = key_bytes if certificate is None else _read(certificate, "certificate")
        return cls(
            client_id,
            key_bytes,
            certificate_bytes,
            password=password,
            algorithm=algorithm,
            lifetime=lifetime,
        )

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def not_valid_after(self) -> float:
        """When the certificate expires (a POSIX timestamp): assertions fail after it."""
        return self._certificate.not_valid_after_utc.timestamp()

    def __repr__(self) -> str:
        return f"ClientCertificate(client_id={self._client_id!r}, thumbprint={self.thumbprint!r})"

    def assertion(self, audience: str, *, now: float | None = None) -> str:
        """A signed client assertion for the token endpoint ``audience``, used once."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": audience,
            "jti": str(uuid.uuid4()),
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(self.lifetime),
        }
        headers = {"typ": "JWT", "x5t": self._x5t, "kid": self.thumbprint}
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)

    def token_request(self, token_url: str, scope: str | None) -> TokenRequest:
        form = _grant(
            scope,
            client_id=self._client_id,
            client_assertion_type=ASSERTION_TYPE,
            client_assertion=self.assertion(token_url),
        )
        return TokenRequest(form, {})


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _read(path: PathLike, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as error:
        raise ConfigurationError(f"cannot read the {what} file {path}: {error.strerror}") from None


def _load_private_key(data: bytes, password: bytes | str | None) -> PrivateKey:
    secret = _as_bytes(password) if password is not None else None
    try:
        key = serialization.load_pem_private_key(data, secret)
    except TypeError as error:  # a password for a plain key, or none for an encrypted one
        raise ConfigurationError(f"cannot open the private key: {error}") from None
    except ValueError:
        raise ConfigurationError(
            "cannot read the private key: expected a PEM private key (and the right password "
            "if it is encrypted)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigurationError(
            f"a {type(key).__name__} cannot sign an assertion: use an RSA or EC P-256 key"
        )
    return key


def _load_certificate(data: bytes) -> x509.Certificate:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ConfigurationError("cannot read the certificate: expected PEM or DER") from None


def _public_der(key: object) -> bytes:
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _algorithm(key: PrivateKey, wanted: str | None) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise ConfigurationError(
                f"an RSA key of {key.key_size} bits is too small: use at least {_MIN_RSA_BITS}"
            )
        allowed: tuple[str, ...] = _RSA_ALGORITHMS
    elif isinstance(key.curve, ec.SECP256R1):
        allowed = ("ES256",)
    else:
        raise ConfigurationError(f"an EC key on {key.curve.name} cannot sign ES256: use P-256")
    if wanted is None:
        return allowed[0]
    if wanted not in allowed:
        raise ConfigurationError(f"this key signs {' or '.join(allowed)}, not {wanted}")
    return wanted
