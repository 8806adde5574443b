"""The OA side of the callback crypto, written apart from ``pipeline.sync`` so a shared mistake cannot hide.

* WeCom / DingTalk (WXBizMsgCrypt scheme): ``wx_seal(token, aes_key43, receive_id, plaintext, timestamp, nonce)``
  → ``(encrypt, msg_signature)``; ``wx_open(...)`` checks and decrypts a reply.
* Feishu: ``lark_seal(encrypt_key, plaintext, timestamp, nonce)`` → ``(body, signature)``.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _wx_key(aes_key43: str) -> bytes:
    return base64.b64decode(aes_key43 + "=")


def wx_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    items = [token, timestamp, nonce, encrypt]
    items.sort()
    digest = hashlib.sha1()
    for item in items:
        digest.update(item.encode("utf-8"))
    return digest.hexdigest()


def wx_seal(token: str, aes_key43: str, receive_id: str, plaintext: bytes, timestamp: str, nonce: str
            ) -> tuple[str, str]:
    key = _wx_key(aes_key43)
    body = os.urandom(16) + len(plaintext).to_bytes(4, "big") + plaintext + receive_id.encode()
    padder = padding.PKCS7(256).padder()  # 32-byte blocks, as the scheme pads
    padded = padder.update(body) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypt = base64.b64encode(enc.update(padded) + enc.finalize()).decode()
    return encrypt, wx_signature(token, timestamp, nonce, encrypt)


def wx_open(token: str, aes_key43: str, receive_id: str, encrypt: str, timestamp: str, nonce: str,
            signature: str) -> bytes:
    if wx_signature(token, timestamp, nonce, encrypt) != signature:
        raise ValueError("reply signature does not match")
    key = _wx_key(aes_key43)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    body = unpadder.update(padded) + unpadder.finalize()
    length = int.from_bytes(body[16:20], "big")
    if body[20 + length:].decode() != receive_id:
        raise ValueError("reply is for another receiver")
    return body[20:20 + length]


def lark_seal(encrypt_key: str, plaintext: bytes, timestamp: str, nonce: str) -> tuple[bytes, str]:
    key = hashlib.sha256(encrypt_key.encode()).digest()
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypt = base64.b64encode(iv + enc.update(padded) + enc.finalize()).decode()
    body = ('{"encrypt":"%s"}' % encrypt).encode()
    signature = hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()
    return body, signature


__all__ = ["lark_seal", "wx_open", "wx_seal", "wx_signature"]
