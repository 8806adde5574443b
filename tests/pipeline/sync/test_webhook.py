"""Standard Webhooks signing and verification."""

import base64

import pytest

from pipeline.sync.webhook import (
    WebhookVerificationError, generate_secret, secret_key, sign, signed_headers, verify,
)

# The test vector published with the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TS, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature=SPEC_SIGNATURE, ts=SPEC_TS):
    return {"webhook-id": SPEC_ID, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_matches_the_specification_vector():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE
    verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS + 10)


def test_secret_without_prefix_is_the_same_key():
    assert sign(SPEC_SECRET.removeprefix("whsec_"), SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_one_matching_signature_among_several_is_enough():
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    verify(SPEC_SECRET, spec_headers(f"v1a,ignored {other} {SPEC_SIGNATURE}"), SPEC_BODY, now=SPEC_TS)


def test_header_names_are_case_insensitive():
    headers = {k.title(): v for k, v in spec_headers().items()}
    verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS)


@pytest.mark.parametrize("change", ["body", "secret", "signature", "id", "scheme"])
def test_any_tampering_is_refused(change):
    secret, body, headers = SPEC_SECRET, SPEC_BODY, spec_headers()
    if change == "body":
        body = b'{"test": 2432232315}'
    elif change == "secret":
        secret = generate_secret()
    elif change == "signature":
        headers["webhook-signature"] = SPEC_SIGNATURE[:-6] + "AAAAA="
    elif change == "id":
        headers["webhook-id"] = "msg_other"
    else:
        headers["webhook-signature"] = SPEC_SIGNATURE.replace("v1,", "v2,")
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, body, now=SPEC_TS)


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_timestamps_outside_five_minutes_are_refused(skew):
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS - skew)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamps_inside_five_minutes_are_accepted(skew):
    verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS - skew)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing):
    headers = spec_headers()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS)


def test_non_numeric_timestamp_is_refused():
    with pytest.raises(WebhookVerificationError):
        verify(SPEC_SECRET, spec_headers(ts="yesterday"), SPEC_BODY, now=SPEC_TS)


def test_signed_headers_verify_now():
    secret = generate_secret()
    body = b'{"doc_no": "BX1"}'
    headers = signed_headers(secret, "msg_1", body)
    assert headers["webhook-id"] == "msg_1"
    verify(secret, headers, body)


def test_generated_secrets_are_random_32_byte_keys():
    a, b = generate_secret(), generate_secret()
    assert a.startswith("whsec_") and a != b and len(secret_key(a)) == 32


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!"])
def test_malformed_secret_is_a_value_error(bad):
    with pytest.raises(ValueError):
        secret_key(bad)
