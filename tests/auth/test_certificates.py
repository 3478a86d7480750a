"""Reading a partner's certificate: thumbprints, validity, the key types that can sign."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from backupjobs.auth.certificates import (
    CertificateError,
    normalize_thumbprint,
    parse_certificate,
)
from tests.auth.credentials import certificate_pem, private_key, private_key_pem


def test_rsa_certificate_thumbprints_are_those_windows_and_openssl_show():
    pem = certificate_pem(private_key("rsa"), name="Contoso PSA")
    parsed = parse_certificate(pem)
    loaded = x509.load_pem_x509_certificate(pem)
    der = loaded.public_bytes(serialization.Encoding.DER)
    assert parsed.thumbprint == loaded.fingerprint(hashes.SHA1()).hex().upper()
    assert parsed.thumbprint_sha256 == hashlib.sha256(der).hexdigest().upper()
    assert parsed.subject == "CN=Contoso PSA"
    assert parsed.key_type == "RSA 2048"
    assert parsed.algorithms == ("RS256", "PS256")
    assert parsed.not_after == loaded.not_valid_after_utc
    assert parsed.not_before == loaded.not_valid_before_utc
    assert "PRIVATE" not in parsed.pem and not parsed.had_private_key


def test_ec_p256_certificate_signs_es256():
    parsed = parse_certificate(certificate_pem(private_key("ec")))
    assert parsed.key_type == "EC P-256"
    assert parsed.algorithms == ("ES256",)


def test_der_certificate_is_read_too():
    pem = certificate_pem(private_key("rsa"))
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert parse_certificate(der).thumbprint == parse_certificate(pem).thumbprint


def test_a_chain_registers_its_first_certificate():
    leaf = certificate_pem(private_key("rsa"), name="leaf")
    other = certificate_pem(private_key("rsa", 1), name="issuer")
    assert parse_certificate(leaf + other).subject == "CN=leaf"


def test_a_file_with_the_private_key_is_read_but_flagged():
    key = private_key("rsa")
    parsed = parse_certificate(certificate_pem(key) + private_key_pem(key))
    assert parsed.had_private_key
    assert "PRIVATE KEY" not in parsed.pem


def test_an_expired_certificate_is_parsed_with_its_dates():
    past = datetime.now(UTC) - timedelta(days=10)
    parsed = parse_certificate(
        certificate_pem(private_key("rsa"), not_before=past - timedelta(days=1), not_after=past)
    )
    assert parsed.not_after < datetime.now(UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello", "no X.509 certificate"),
        (b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", "no X.509"),
        (None, "no X.509 certificate"),  # a private key alone
        ("rsa1024", "1024 bits"),
        ("ec384", "secp384r1"),
        ("ed25519", "Ed25519"),
    ],
)
def test_unusable_files_are_refused_saying_why(data, message):
    if data is None:
        data = private_key_pem(private_key("rsa"))
    elif isinstance(data, str):
        data = certificate_pem(private_key(data))
    with pytest.raises(CertificateError, match=message):
        parse_certificate(data)


def test_thumbprints_are_accepted_in_any_case_with_colons():
    assert normalize_thumbprint("e1:04:26:a1 55") == "E10426A155"
