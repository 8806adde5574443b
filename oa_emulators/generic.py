"""A generic webhook OA: receives Standard Webhooks 报销单 deliveries, calls back with signed decisions.

``POST /webhook`` verifies the signature (401), de-duplicates on ``Idempotency-Key`` (a repeat gets the first
approval again) and answers ``{"oa_request_id", "status": "pending"}``. Statuses are the generic decisions
(approved / rejected / withdrawn); ``decide`` POSTs ``{"doc_no", "decision", "oa_request_id"}`` signed with
``callback_secret``. There is no status or search API: the idempotency key is the whole dedupe story.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from pipeline.sync import webhook


class GenericEmulator(OaEmulator):
    name = "generic_webhook"

    def __init__(self, *, webhook_secret: str, callback_secret: str | None = None, **kwargs: Any):
        self.webhook_secret, self.callback_secret = webhook_secret, callback_secret
        super().__init__(**kwargs)

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"error": "form refused"}, status_code=422)

    def routes(self, app: FastAPI) -> None:
        @app.post("/webhook")
        async def receive(request: Request):
            body = await request.body()
            try:
                webhook.verify(self.webhook_secret, request.headers, body)
                authentic = True
            except webhook.WebhookVerificationError:
                authentic = False
            key = request.headers.get("idempotency-key") or request.headers.get("webhook-id", "")

            def work():
                if not authentic:
                    return JSONResponse({"error": "bad signature"}, status_code=401)
                document = json.loads(body).get("data") or {}
                with self.store.lock:
                    earlier = next((r for r in self.store.all() if r.extra["key"] == key), None)
                    record = earlier or self.store.add(Record(f"OA{self.next_id():06d}", document.get("doc_no"),
                                                              document, "pending", extra={"key": key}))
                return JSONResponse({"oa_request_id": record.oa_id, "status": "pending",
                                     "duplicate": earlier is not None})
            return await self.guarded("create", work)

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        if not self.callback_secret:
            return None
        raw = json.dumps({"doc_no": record.doc_no, "decision": record.status, "oa_request_id": record.oa_id},
                         ensure_ascii=False).encode()
        headers = webhook.signed_headers(self.callback_secret, f"cb_{record.oa_id}_{self.next_id()}", raw)
        headers["Content-Type"] = "application/json"
        return OutgoingCallback("POST", {}, headers, raw)


__all__ = ["GenericEmulator"]
