"""Opaque cursors for keyset paging: signed, and bound to the filters they were made for.

A cursor carries where the next page starts (the sort key of the last row given) and an
HMAC over that position and the *binding* (what the list was asked for: the endpoint, the
tenant, the filters). Used with other filters, or altered, it fails to verify, so a client
can neither page a list with another list's cursor nor forge a position.

>>> codec = CursorCodec(b"0" * 32)
>>> token = codec.encode(["2025-09-11T03:21:16.800000Z", "FB1"], binding=b"jobs|status=3")
>>> codec.decode(token, binding=b"jobs|status=3", type=tuple[str, str])
('2025-09-11T03:21:16.800000Z', 'FB1')
>>> codec.decode(token, binding=b"jobs|status=2", type=tuple[str, str])
Traceback (most recent call last):
...
backupjobs.infra.cursors.InvalidCursorError: it was altered, or made for other filters

The position is not secret (it is the last row's sort key, which the client has seen),
only tamper-evident: the token is ``base64url(json(position) + mac)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

#: Bytes of HMAC-SHA256 kept in a cursor: 128 bits, beyond guessing.
MAC_BYTES = 16
#: The longest cursor accepted, in characters (a position is a few short values).
MAX_CURSOR_LENGTH = 1024

_encoder = msgspec.json.Encoder()


class InvalidCursorError(ValueError):
    """A cursor that cannot be used here; the message says why, for a 400."""


def binding(kind: str, parameters: Mapping[str, Any]) -> bytes:
    """The canonical bytes of ``kind`` and ``parameters`` (JSON values; a list is taken
    as a set, so that ``status=3&status=7`` and ``status=7&status=3`` bind alike)."""
    canonical = sorted(
        (name, sorted(value, key=repr) if isinstance(value, list | tuple | set) else value)
        for name, value in parameters.items()
        if value is not None
    )
    return _encoder.encode([kind, canonical])


class CursorCodec:
    """Makes and checks cursors with one secret key, shared by every process."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key has at least 16 bytes")
        self._key = key

    def _mac(self, payload: bytes, bound_to: bytes) -> bytes:
        message = len(bound_to).to_bytes(4, "big") + bound_to + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, position: Sequence[Any], *, binding: bytes) -> str:
        """The cursor of ``position`` (JSON values) for the list ``binding`` names."""
        payload = _encoder.encode(list(position))
        token = payload + self._mac(payload, binding)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def decode(self, cursor: str, *, binding: bytes, type: type[T]) -> T:
        """The position in ``cursor``, as ``type``; :class:`InvalidCursorError` if it was
        altered, made for another list, or is not a cursor at all."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursorError("it is too long to be one of ours")
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursorError("it is not a cursor this service made") from None
        payload, mac = token[:-MAC_BYTES], token[-MAC_BYTES:]
        if len(token) <= MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload, binding)):
            raise InvalidCursorError("it was altered, or made for other filters")
        try:
            return msgspec.json.decode(payload, type=type)
        except (msgspec.ValidationError, msgspec.DecodeError):
            # Signed by us but of another shape: made by another version of the service.
            raise InvalidCursorError("it was made by another version of this service") from None
