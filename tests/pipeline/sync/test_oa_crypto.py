"""Callback crypto: the WeCom/DingTalk scheme and Feishu's, checked against an independent implementation
(``oa_emulators.crypto``) and Feishu's published decryption example."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from oa_emulators.crypto import lark_seal, wx_open, wx_seal, wx_signature
from pipeline.sync import feishu_crypto
from pipeline.sync.msgcrypt import CryptoError, MsgCrypt, aes_key, sha1_signature

TOKEN, KEY, CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"


def test_signature_is_sha1_of_the_sorted_parts():
    expected = hashlib.sha1("".join(sorted([TOKEN, "1409659813", "1372623149", "abc"])).encode()).hexdigest()
    assert sha1_signature(TOKEN, "1409659813", "1372623149", "abc") == expected
    assert wx_signature(TOKEN, "1409659813", "1372623149", "abc") == expected


def test_what_the_oa_seals_we_open():
    crypt = MsgCrypt(TOKEN, KEY, CORP)
    message = "<xml><Event>sys_approval_change</Event><SpNo>202603050001</SpNo></xml>".encode()
    encrypt, signature = wx_seal(TOKEN, KEY, CORP, message, "1409659813", "nonce1")
    crypt.verify(signature, "1409659813", "nonce1", encrypt)
    assert crypt.decrypt(encrypt) == message


def test_what_we_seal_the_oa_opens():
    crypt = MsgCrypt(TOKEN, KEY, CORP)
    encrypt, signature = crypt.seal("success", "1409659813", "n2")
    assert wx_open(TOKEN, KEY, CORP, encrypt, "1409659813", "n2", signature) == b"success"


@pytest.mark.parametrize("length", [0, 1, 11, 12, 43, 44, 1000])
def test_round_trip_at_padding_boundaries(length):
    crypt = MsgCrypt(TOKEN, KEY, CORP)
    message = bytes(range(256)) * 4
    encrypt = crypt.encrypt(message[:length])
    assert len(base64.b64decode(encrypt)) % 32 == 0
    assert crypt.decrypt(encrypt) == message[:length]


def test_a_message_for_another_receiver_is_refused():
    encrypt, _ = wx_seal(TOKEN, KEY, "another-corp", b"hello", "1", "n")
    with pytest.raises(CryptoError, match="another receiver"):
        MsgCrypt(TOKEN, KEY, CORP).decrypt(encrypt)


def test_a_wrong_key_or_garbage_is_refused():
    encrypt, _ = wx_seal(TOKEN, KEY, CORP, b"hello", "1", "n")
    other = MsgCrypt(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP)
    with pytest.raises(CryptoError):
        other.decrypt(encrypt)
    with pytest.raises(CryptoError, match="not base64"):
        MsgCrypt(TOKEN, KEY, CORP).decrypt("***")


@pytest.mark.parametrize("change", ["signature", "timestamp", "nonce", "encrypt", "missing"])
def test_signatures_bind_every_part(change):
    crypt = MsgCrypt(TOKEN, KEY, CORP)
    encrypt, signature = crypt.seal("x", "1409659813", "nonce")
    parts = {"signature": signature, "timestamp": "1409659813", "nonce": "nonce", "encrypt": encrypt}
    parts[change if change != "missing" else "signature"] = "tampered" if change != "missing" else None
    with pytest.raises(CryptoError):
        crypt.verify(parts["signature"], parts["timestamp"], parts["nonce"], parts["encrypt"])


def test_stale_timestamps_are_refused_when_asked():
    crypt = MsgCrypt(TOKEN, KEY, CORP)
    encrypt, signature = crypt.seal("x", "1000", "n")
    crypt.verify(signature, "1000", "n", encrypt)  # no age check unless asked
    with pytest.raises(CryptoError, match="window"):
        crypt.verify(signature, "1000", "n", encrypt, max_age=3600, now=1000 + 3601)
    encrypt, signature = crypt.seal("x", "1700000000000", "n")  # DingTalk: milliseconds
    crypt.verify(signature, "1700000000000", "n", encrypt, max_age=60, now=1700000030)


@pytest.mark.parametrize("bad", ["short", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2*"])
def test_bad_encoding_aes_keys_fail_at_construction(bad):
    with pytest.raises(ValueError):
        aes_key(bad)


def test_feishu_published_example_decrypts():
    # The example of Feishu's "事件订阅 / 接收事件" page: Encrypt Key "test key".
    assert feishu_crypto.decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key") == b"hello world"


def test_feishu_signature_and_body_from_the_oa_side_verify():
    event = json.dumps({"type": "event_callback", "event": {"status": "APPROVED"}}).encode()
    body, signature = lark_seal("k3y", event, "1700000000", "nonce")
    headers = {"X-Lark-Request-Timestamp": "1700000000", "X-Lark-Request-Nonce": "nonce",
               "X-Lark-Signature": signature}
    feishu_crypto.verify(headers, body, "k3y")
    assert feishu_crypto.decrypt(json.loads(body)["encrypt"], "k3y") == event
    with pytest.raises(CryptoError):
        feishu_crypto.verify(headers, body + b" ", "k3y")
    with pytest.raises(CryptoError):
        feishu_crypto.verify(headers, body, "other")
    with pytest.raises(CryptoError, match="window"):
        feishu_crypto.verify(headers, body, "k3y", max_age=60, now=1700000100)
    assert feishu_crypto.decrypt(feishu_crypto.encrypt("往返", "k3y"), "k3y").decode() == "往返"
