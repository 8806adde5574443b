"""Generic OA adapter: POST the canonical 报销单 as a signed Standard Webhook; accept signed decision callbacks.

For any OA (or integration middleware) that can receive a webhook and call a URL back.

Outbound request: ``POST url`` with JSON ``{"type": topic, "timestamp": <message created, ISO 8601>, "data":
<报销单>}``, headers ``webhook-id`` (= message id, same on every retry), ``webhook-timestamp``,
``webhook-signature`` (signed with ``secret``) and ``Idempotency-Key`` (= the claim's key). A receiver that has
seen the webhook-id or the idempotency key before must answer 2xx again without creating a second approval; this
is how a retry after a timeout avoids duplicates, so there is no separate look-up call.

Response: any 2xx is delivered; a JSON body may carry ``oa_request_id`` (or ``request_id`` / ``id``) and
``status``. 408, 409 (same key still being processed), 425, 429 and 5xx are retried; other 4xx are permanent.
Timeouts and connection errors are retried.

Callback: headers signed with ``callback_secret``; JSON body ``{"doc_no" | "claim_id", "decision":
"approved" | "rejected" | "withdrawn", "oa_request_id"?, "comment"?}``, or the same object under ``"data"``.

``build_payload(document, topic=..., created_at=...)`` returns the envelope (the dry run prints it). There is no
look-up or status call: the receiver's de-duplication is the idempotency mechanism.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from pipeline.sync import webhook
from pipeline.sync.base import (
    DECISIONS, BaseOaAdapter, CallbackInvalid, CallbackRejected, DeliveryError, OaDecision, OutboundMessage,
    SubmitResult,
)

_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def build_payload(document: dict[str, Any], topic: str = "claim.submitted",
                  created_at: datetime | None = None) -> dict[str, Any]:
    return {"type": topic, "timestamp": (created_at or datetime.now(UTC)).isoformat(), "data": document}


class GenericWebhookAdapter(BaseOaAdapter):
    name = "generic_webhook"

    def __init__(self, url: str, secret: str, callback_secret: str | None = None, *, timeout: float = 10.0,
                 callback_tolerance: int = webhook.DEFAULT_TOLERANCE_SECONDS, client: httpx.Client | None = None):
        if not url:
            raise ValueError("the generic webhook adapter needs the OA webhook URL")
        webhook.secret_key(secret)  # fail at start-up, not at the first delivery
        self.url, self.secret, self.callback_secret = url, secret, callback_secret
        self.callback_tolerance = callback_tolerance
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))

    def close(self) -> None:
        self._client.close()

    def submit(self, message: OutboundMessage) -> SubmitResult:
        body = json.dumps(build_payload(message.payload, message.topic, message.created_at),
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = webhook.signed_headers(self.secret, message.message_id, body)
        headers.update({"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key})
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"timed out posting to the OA: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"could not reach the OA: {exc!r}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return _submit_result(response)
        retryable = status >= 500 or status in _RETRYABLE_4XX
        raise DeliveryError(f"OA answered HTTP {status}: {response.text[:300]}", retryable=retryable)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        if not self.callback_secret:
            raise CallbackRejected("no OA callback secret is configured, so no callback can be trusted")
        try:
            webhook.verify(self.callback_secret, headers, body, tolerance=self.callback_tolerance)
        except webhook.WebhookVerificationError as exc:
            raise CallbackRejected(str(exc)) from exc
        return decision_from_json(body)


def decision_from_json(body: bytes) -> OaDecision:
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CallbackInvalid("callback body is not JSON") from exc
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    if not isinstance(data, dict):
        raise CallbackInvalid("callback body must be a JSON object")
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise CallbackInvalid(f"decision must be one of {sorted(DECISIONS)}, got {decision!r}")
    claim_id, doc_no = data.get("claim_id"), data.get("doc_no")
    if claim_id is None and not doc_no:
        raise CallbackInvalid("callback names no claim: give doc_no or claim_id")
    if claim_id is not None and (isinstance(claim_id, bool) or not str(claim_id).isdigit()):
        raise CallbackInvalid("claim_id must be a positive integer")
    extra = {k: v for k, v in data.items() if k not in {"decision", "claim_id", "doc_no", "oa_request_id", "comment"}}
    return OaDecision(decision=decision, doc_no=doc_no or None,
                      claim_id=None if claim_id is None else int(claim_id),
                      oa_request_id=_optional_text(data.get("oa_request_id")),
                      comment=_optional_text(data.get("comment")), extra=extra)


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _submit_result(response: httpx.Response) -> SubmitResult:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return SubmitResult(oa_request_id=None, status="received")
    request_id = next((data[k] for k in ("oa_request_id", "request_id", "id") if data.get(k) not in (None, "")), None)
    return SubmitResult(oa_request_id=_optional_text(request_id), status=str(data.get("status") or "received"))


__all__ = ["GenericWebhookAdapter", "build_payload", "decision_from_json"]
