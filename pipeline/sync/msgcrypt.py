"""The callback encryption scheme WeCom and DingTalk share (WeCom doc 90968 "加解密方案说明"; DingTalk HTTP push).

Contract: ``MsgCrypt(token, encoding_aes_key, receive_id)``.
* ``signature(timestamp, nonce, encrypt)`` = hex SHA1 of the four strings sorted and concatenated.
* ``encrypt(plaintext, *, random16=None) -> str``: base64 of AES-256-CBC(key = base64decode(EncodingAESKey + "="),
  iv = key[:16]) over ``random(16) + len(msg) as 4 bytes big-endian + msg + receive_id``, PKCS#7-padded to a
  multiple of 32 bytes.
* ``decrypt(encrypt) -> bytes`` reverses it and checks the padding, the length and that the trailing id is
  ``receive_id`` (the CorpID for WeCom; the corpId or app key for DingTalk); any failure raises
  ``CryptoError``.
* ``verify(signature, timestamp, nonce, encrypt)`` raises ``CryptoError`` unless the signature matches
  (constant-time) and, when ``max_age`` is given, the timestamp is within it of now.
* ``seal(plaintext, timestamp, nonce)`` returns ``(encrypt, signature)`` for a reply.
The EncodingAESKey must be 43 base64 characters (a 32-byte key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(Exception):
    """Signature, key or ciphertext is wrong."""


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class MsgCrypt:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        if not token:
            raise ValueError("the callback token is empty")
        self.token, self.key, self.receive_id = token, aes_key(encoding_aes_key), receive_id

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self.token, str(timestamp), str(nonce), encrypt)

    def verify(self, signature: str | None, timestamp: str | None, nonce: str | None, encrypt: str | None, *,
               max_age: float | None = None, now: float | None = None) -> None:
        if not (signature and timestamp and nonce and encrypt):
            raise CryptoError("missing signature, timestamp, nonce or ciphertext")
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise CryptoError("signature does not match")
        if max_age is not None:
            try:
                age = abs((time.time() if now is None else now) - int(timestamp) / (1000 if len(timestamp) > 10
                                                                                     else 1))
            except ValueError:
                raise CryptoError("timestamp is not a number") from None
            if age > max_age:
                raise CryptoError("timestamp is outside the accepted window")

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, plaintext: bytes | str, *, random16: bytes | None = None) -> str:
        message = plaintext.encode() if isinstance(plaintext, str) else plaintext
        raw = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + self.receive_id.encode()
        pad = BLOCK - len(raw) % BLOCK
        raw += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> bytes:
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        raw = decryptor.update(data) + decryptor.finalize()
        pad = raw[-1]
        if not 1 <= pad <= BLOCK or raw[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding: wrong key?")
        raw = raw[:-pad]
        if len(raw) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", raw[16:20])
        message, receive_id = raw[20:20 + length], raw[20 + length:]
        if len(message) != length:
            raise CryptoError("message length does not match")
        if receive_id.decode(errors="replace") != self.receive_id:
            raise CryptoError("message is addressed to another receiver id")
        return message

    def seal(self, plaintext: bytes | str, timestamp: str, nonce: str) -> tuple[str, str]:
        encrypt = self.encrypt(plaintext)
        return encrypt, self.signature(timestamp, nonce, encrypt)


__all__ = ["CryptoError", "MsgCrypt", "aes_key", "sha1_signature"]
