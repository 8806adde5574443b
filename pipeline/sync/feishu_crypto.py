"""Feishu event encryption and signing (事件订阅 "接收事件": Encrypt Key mode).

Contract:
* ``signature(timestamp, nonce, encrypt_key, body)`` = hex SHA256 of ``timestamp + nonce + encrypt_key`` (as text)
  followed by the raw body bytes; ``verify(headers, body, encrypt_key)`` checks ``X-Lark-Signature`` against it
  (constant time) using ``X-Lark-Request-Timestamp`` / ``X-Lark-Request-Nonce``, and the timestamp's age when
  ``max_age`` is given; raises ``CryptoError``.
* ``decrypt(encrypt, encrypt_key) -> bytes``: base64-decode, IV = first 16 bytes, AES-256-CBC with key =
  SHA256(encrypt_key), PKCS#7 (16-byte blocks). ``encrypt(plaintext, encrypt_key)`` is its inverse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pipeline.sync.msgcrypt import CryptoError


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, encrypt_key: str, *, max_age: float | None = None,
           now: float | None = None) -> None:
    lower = {k.lower(): v for k, v in headers.items()}
    ts, nonce, sig = (lower.get(h) for h in ("x-lark-request-timestamp", "x-lark-request-nonce", "x-lark-signature"))
    if not (ts and nonce and sig):
        raise CryptoError("missing X-Lark-Request-Timestamp, X-Lark-Request-Nonce or X-Lark-Signature")
    if not hmac.compare_digest(signature(ts, nonce, encrypt_key, body).encode(), sig.lower().encode()):
        raise CryptoError("X-Lark-Signature does not match")
    if max_age is not None:
        try:
            age = abs((time.time() if now is None else now) - int(ts))
        except ValueError:
            raise CryptoError("X-Lark-Request-Timestamp is not a number") from None
        if age > max_age:
            raise CryptoError("X-Lark-Request-Timestamp is outside the accepted window")


def decrypt(encrypt: str, encrypt_key: str) -> bytes:
    try:
        data = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("encrypt is not base64") from None
    if len(data) < 32 or len(data) % 16:
        raise CryptoError("encrypt has a bad length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(data[:16])).decryptor()
    raw = decryptor.update(data[16:]) + decryptor.finalize()
    pad = raw[-1]
    if not 1 <= pad <= 16 or raw[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad padding: wrong Encrypt Key?")
    return raw[:-pad]


def encrypt(plaintext: bytes | str, encrypt_key: str, *, iv: bytes | None = None) -> str:
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    iv = iv or os.urandom(16)
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(data) + encryptor.finalize()).decode()


__all__ = ["CryptoError", "decrypt", "encrypt", "signature", "verify"]
