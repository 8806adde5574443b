"""Standard Webhooks signing and verification (https://www.standardwebhooks.com/, symmetric ``v1`` scheme).

Contract:
* A secret is ``"whsec_" + base64(key)``; the HMAC key is the base64-decoded part. ``generate_secret()`` makes one.
* ``sign(secret, msg_id, timestamp, body)`` returns ``"v1,<base64 HMAC-SHA256 of b'{msg_id}.{timestamp}.' + body>"``.
* ``signed_headers(secret, msg_id, body)`` returns the three headers ``webhook-id``, ``webhook-timestamp`` (Unix
  seconds, now unless given) and ``webhook-signature``. The id must stay the same across retries of one message so
  the receiver can drop duplicates; the timestamp and signature are made fresh for every attempt.
* ``verify(secret, headers, body)`` raises ``WebhookVerificationError`` unless the headers are present, the timestamp
  is within ``tolerance`` seconds of now (either side) and at least one of the space-separated ``v1,`` signatures
  matches (constant-time compare). Header names are matched case-insensitively. Other schemes (``v1a,``) are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The request is not a valid, fresh, correctly signed webhook."""


def generate_secret(n_bytes: int = 32) -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret must be 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sign(secret, msg_id, ts, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, ts_text, signatures = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and ts_text and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(ts_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = sign(secret, msg_id, ts, body).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise WebhookVerificationError("no matching webhook signature")


__all__ = ["DEFAULT_TOLERANCE_SECONDS", "SECRET_PREFIX", "WebhookVerificationError", "generate_secret", "secret_key",
           "sign", "signed_headers", "verify"]
