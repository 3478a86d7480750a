"""Secrets the service must read back (to sign with them), sealed with a key of its own.

>>> box = SecretBox(bytes(32))
>>> box.open(box.seal(b"whsec")) == b"whsec"
True

AES-256-GCM with a random 96-bit nonce per seal; the sealed form is ``nonce || ciphertext
|| tag``. Tampering, or another key, raises :class:`cryptography.exceptions.InvalidTag`.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SecretBox:
    """Seals and opens small secrets with one 32-byte key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a SecretBox key is 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, secret: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, None)

    def open(self, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None)
