"""Client credentials: the secret kept out of sight, the certificate's RFC 7523 assertion."""

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from backupjobs.sdk import ClientCertificate, ClientSecret, ConfigurationError
from backupjobs.sdk.credentials import ASSERTION_TYPE
from tests.auth.credentials import certificate_pem, private_key, private_key_pem

TOKEN_URL = "https://identity.example.com/connect/token"


def certificate(kind="rsa", number=0, **options):
    """A key, the credential for it, and its certificate (PEM)."""
    key = private_key(kind, number)
    pem = certificate_pem(key)
    return key, ClientCertificate("client-1", private_key_pem(key), pem, **options), pem


def test_a_secret_is_never_shown():
    secret = ClientSecret("client-1", "bjs_topsecret")
    assert "bjs_topsecret" not in repr(secret)
    assert "bjs_topsecret" not in str(secret)
    form = secret.token_request(TOKEN_URL, "a b").form
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": "bjs_topsecret",
        "scope": "a b",
    }


def test_a_secret_in_http_basic_is_form_encoded_first():
    request = ClientSecret("client 1", "p@ss:word", basic=True).token_request(TOKEN_URL, None)
    assert request.form == {"grant_type": "client_credentials"}
    scheme, encoded = request.headers["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "client+1:p%40ss%3Aword"


def test_the_assertion_claims_and_header():
    key, credential, pem = certificate()
    before = int(time.time())
    form = credential.token_request(TOKEN_URL, None).form
    assert form["client_assertion_type"] == ASSERTION_TYPE
    assert form["client_id"] == "client-1"
    assert "scope" not in form
    signed = form["client_assertion"]
    claims = jwt.decode(signed, key.public_key(), algorithms=["RS256"], audience=TOKEN_URL)
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["aud"] == TOKEN_URL
    assert before <= claims["iat"] <= claims["exp"] - 300 <= int(time.time())
    assert claims["nbf"] == claims["iat"]
    header = jwt.get_unverified_header(signed)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).digest()
    assert header["alg"] == "RS256"
    assert header["kid"] == sha1.hex().upper() == credential.thumbprint
    assert header["x5t"] == base64.urlsafe_b64encode(sha1).rstrip(b"=").decode()
    # Every assertion is new: a jti is used once.
    again = credential.token_request(TOKEN_URL, None).form["client_assertion"]
    assert jwt.decode(again, options={"verify_signature": False})["jti"] != claims["jti"]


def test_the_algorithm_follows_the_key():
    ec_key, ec, _ = certificate("ec", 1)
    assert ec.algorithm == "ES256"
    signed = ec.assertion(TOKEN_URL)
    assert jwt.decode(signed, ec_key.public_key(), algorithms=["ES256"], audience=TOKEN_URL)
    _, pss, _ = certificate("rsa", 0, algorithm="PS256", lifetime=60)
    claims = jwt.decode(pss.assertion(TOKEN_URL), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert jwt.get_unverified_header(pss.assertion(TOKEN_URL))["alg"] == "PS256"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: certificate("rsa1024", 2), "too small"),
        (lambda: certificate("ec384", 3), "P-256"),
        (lambda: certificate("ed25519", 4), "RSA or EC P-256"),
        (lambda: certificate("ec", 5, algorithm="RS256"), "not RS256"),
        (lambda: certificate("rsa", 0, lifetime=601), "at most 600"),
        (
            lambda: ClientCertificate(
                "c", private_key_pem(private_key("rsa", 0)), certificate_pem(private_key("rsa", 6))
            ),
            "does not belong to the certificate",
        ),
        (lambda: ClientCertificate("c", b"not a key", b"x"), "cannot read the private key"),
        (
            lambda: ClientCertificate("c", private_key_pem(private_key("rsa", 0)), b"junk"),
            "cannot read the certificate",
        ),
        (lambda: ClientSecret("c", ""), "secret"),
    ],
)
def test_unusable_credentials_are_refused_before_any_request(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_files_separate_or_combined_and_encrypted_keys(tmp_path):
    key = private_key("rsa", 0)
    pem = certificate_pem(key)
    (tmp_path / "key.pem").write_bytes(private_key_pem(key))
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "both.pem").write_bytes(pem + private_key_pem(key))
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    (tmp_path / "cert.der").write_bytes(der)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "encrypted.pem").write_bytes(encrypted)
    thumbprints = {
        ClientCertificate.from_files("c", tmp_path / "key.pem", tmp_path / "cert.pem").thumbprint,
        ClientCertificate.from_files("c", tmp_path / "both.pem").thumbprint,
        ClientCertificate.from_files("c", tmp_path / "key.pem", tmp_path / "cert.der").thumbprint,
        ClientCertificate.from_files(
            "c", tmp_path / "encrypted.pem", tmp_path / "cert.pem", password="pw"
        ).thumbprint,
    }
    assert len(thumbprints) == 1
    with pytest.raises(ConfigurationError, match="cannot open the private key"):
        ClientCertificate.from_files("c", tmp_path / "encrypted.pem", tmp_path / "cert.pem")
    with pytest.raises(ConfigurationError, match=r"missing\.pem"):
        ClientCertificate.from_files("c", tmp_path / "missing.pem")


def test_the_certificate_expiry_is_known():
    key = private_key("rsa", 0)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    credential = ClientCertificate("c", private_key_pem(key), certificate_pem(key, not_after=end))
    assert credential.not_valid_after == end.timestamp()
    assert credential.thumbprint in repr(credential)
