"""Webhooks as the Standard Webhooks specification signs them: verify what you receive.

>>> from backupjobs.sdk.webhooks import WebhookVerifier
>>> # verifier = WebhookVerifier("whsec_...")          # the secret shown at creation
>>> # event = verifier.verify(request_body, request_headers)   # dict, or WebhookVerificationError

``webhook-signature`` holds one or more space-separated ``v1,<base64>`` signatures: the
HMAC-SHA256, keyed with the secret's bytes (base64 after ``whsec_``), of
``"<webhook-id>.<webhook-timestamp>.<body>"``. While a rotated secret's predecessor still
signs (24 hours), each delivery carries both signatures: one valid one suffices.
Signatures are compared in constant time; a timestamp more than ``tolerance`` away from
now is refused, so that a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "WebhookVerifier",
    "secret_key",
    "sign",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: Seconds a delivery's timestamp may be away from the receiver's clock by default.
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(ValueError):
    """The delivery is not signed by this secret, or is too old or too new."""


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix may be left out)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise WebhookVerificationError("the secret is not whsec_ followed by base64") from None


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a delivery."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookVerifier:
    """Checks deliveries signed with one secret (or several: a list, during a rotation)."""

    def __init__(self, secret: str | list[str], *, tolerance: int = DEFAULT_TOLERANCE) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        self._keys = [secret_key(s) for s in secrets]
        self._tolerance = tolerance

    def verify(
        self, body: bytes | str, headers: Mapping[str, str], *, now: float | None = None
    ) -> Any:
        """The delivery's JSON if ``headers`` carry a valid signature of ``body`` and a
        timestamp within tolerance; :class:`WebhookVerificationError` otherwise."""
        raw = body.encode() if isinstance(body, str) else body
        lowered = {name.lower(): value for name, value in headers.items()}
        message_id = lowered.get("webhook-id")
        stamp = lowered.get("webhook-timestamp")
        signatures = lowered.get("webhook-signature")
        if not message_id or not stamp or not signatures:
            raise WebhookVerificationError(
                "missing webhook-id, webhook-timestamp or webhook-signature header"
            )
        try:
            timestamp = int(stamp)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not an integer") from None
        current = time.time() if now is None else now
        if abs(current - timestamp) > self._tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp is more than {self._tolerance} s from now"
            )
        given = [s.removeprefix("v1,") for s in signatures.split() if s.startswith("v1,")]
        for key in self._keys:
            expected = sign(key, message_id, timestamp, raw).removeprefix("v1,")
            # Every candidate compared, each in constant time.
            if any(hmac.compare_digest(expected, candidate) for candidate in given):
                return json.loads(raw)
        raise WebhookVerificationError("no valid signature for this secret")
