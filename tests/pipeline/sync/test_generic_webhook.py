"""The generic Standard-Webhooks OA adapter, against an in-process HTTP transport."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from pipeline.sync import (
    CallbackInvalid, CallbackRejected, DeliveryError, OutboundMessage, adapter_names, create_adapter, register,
)
from pipeline.sync.generic_webhook import GenericWebhookAdapter
from pipeline.sync.webhook import generate_secret, signed_headers, verify

SECRET, CALLBACK_SECRET = generate_secret(), generate_secret()
MESSAGE = OutboundMessage(message_id="msg_abc", idempotency_key="42", topic="claim.submitted",
                          payload={"doc_no": "BX202603050000042", "amount_claimed": "106.00"},
                          created_at=datetime(2026, 3, 5, 1, 0, tzinfo=UTC))


def adapter_answering(handler, **kwargs) -> GenericWebhookAdapter:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return GenericWebhookAdapter("http://oa.example/hook", SECRET, CALLBACK_SECRET, client=client, **kwargs)


def test_submit_posts_a_signed_envelope_with_stable_ids():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        verify(SECRET, request.headers, request.content)
        seen.append(request)
        return httpx.Response(200, json={"oa_request_id": "REQ-7", "status": "pending"})

    adapter = adapter_answering(handler)
    first = adapter.submit(MESSAGE)
    adapter.submit(MESSAGE)
    assert (first.oa_request_id, first.status) == ("REQ-7", "pending")
    assert [r.headers["webhook-id"] for r in seen] == ["msg_abc", "msg_abc"]
    assert [r.headers["idempotency-key"] for r in seen] == ["42", "42"]
    body = json.loads(seen[0].content)
    assert body == {"type": "claim.submitted", "timestamp": "2026-03-05T01:00:00+00:00", "data": MESSAGE.payload}
    assert seen[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize("response,expected", [
    (httpx.Response(202, text="ok"), (None, "received")),
    (httpx.Response(200, json={"request_id": 991}), ("991", "received")),
    (httpx.Response(201, json={"id": "A1", "status": "created"}), ("A1", "created")),
])
def test_any_2xx_is_delivered(response, expected):
    result = adapter_answering(lambda request: response).submit(MESSAGE)
    assert (result.oa_request_id, result.status) == expected


@pytest.mark.parametrize("status,retryable", [
    (500, True), (502, True), (503, True), (408, True), (409, True), (429, True),
    (400, False), (401, False), (404, False), (422, False),
])
def test_http_errors_are_classified(status, retryable):
    with pytest.raises(DeliveryError) as info:
        adapter_answering(lambda request: httpx.Response(status, text="nope")).submit(MESSAGE)
    assert info.value.retryable is retryable and str(status) in str(info.value)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_network_failures_are_retryable(exc):
    def handler(request):
        raise exc

    with pytest.raises(DeliveryError) as info:
        adapter_answering(handler).submit(MESSAGE)
    assert info.value.retryable


def callback(body: dict | bytes, secret=CALLBACK_SECRET, timestamp=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return signed_headers(secret, "cb_1", raw, timestamp), raw


def test_parse_callback_reads_a_signed_decision():
    adapter = adapter_answering(lambda r: httpx.Response(200))
    decision = adapter.parse_callback(*callback({"doc_no": "BX1", "decision": "approved", "oa_request_id": "R1",
                                                 "comment": "同意", "approver": "王五"}))
    assert (decision.doc_no, decision.claim_id, decision.decision) == ("BX1", None, "approved")
    assert (decision.oa_request_id, decision.comment, decision.extra) == ("R1", "同意", {"approver": "王五"})
    wrapped = adapter.parse_callback(*callback({"type": "x", "data": {"claim_id": "7", "decision": "rejected"}}))
    assert (wrapped.claim_id, wrapped.decision, wrapped.doc_no) == (7, "rejected", None)


@pytest.mark.parametrize("headers_from", ["other_secret", "stale", "unsigned"])
def test_parse_callback_rejects_unauthentic_requests(headers_from):
    adapter = adapter_answering(lambda r: httpx.Response(200))
    body = {"doc_no": "BX1", "decision": "approved"}
    if headers_from == "other_secret":
        headers, raw = callback(body, secret=SECRET)
    elif headers_from == "stale":
        headers, raw = callback(body, timestamp=int(datetime.now(UTC).timestamp()) - 600)
    else:
        headers, raw = {}, json.dumps(body).encode()
    with pytest.raises(CallbackRejected):
        adapter.parse_callback(headers, raw)


def test_parse_callback_without_a_configured_secret_trusts_nothing():
    adapter = GenericWebhookAdapter("http://oa.example/hook", SECRET, None)
    with pytest.raises(CallbackRejected):
        adapter.parse_callback(*callback({"doc_no": "BX1", "decision": "approved"}))


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", {"doc_no": "BX1", "decision": "maybe"}, {"decision": "approved"},
    {"claim_id": "seven", "decision": "approved"}, {"claim_id": True, "decision": "approved"},
])
def test_parse_callback_refuses_malformed_content(body):
    adapter = adapter_answering(lambda r: httpx.Response(200))
    with pytest.raises(CallbackInvalid):
        adapter.parse_callback(*callback(body))


def test_registry_builds_adapters_by_name(monkeypatch):
    monkeypatch.setattr("pipeline.sync.base._REGISTERED", {})
    adapter = create_adapter("generic_webhook", url="http://oa.example/hook", secret=SECRET)
    assert isinstance(adapter, GenericWebhookAdapter)
    with pytest.raises(ValueError, match="unknown OA adapter"):
        create_adapter("no_such_oa")
    register("test_oa", lambda **options: options)
    assert "test_oa" in adapter_names() and create_adapter("test_oa", a=1) == {"a": 1}


def test_bad_configuration_fails_at_construction():
    with pytest.raises(ValueError):
        GenericWebhookAdapter("", SECRET)
    with pytest.raises(ValueError):
        GenericWebhookAdapter("http://oa.example/hook", "whsec_***")
