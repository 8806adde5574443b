"""A minimal OA for the demo and the tests: receives signed 报销单 webhooks and calls back with a decision.

``DemoOa`` holds the state; ``create_receiver_app(oa)`` serves it:

* ``POST /webhook`` verifies the Standard Webhooks signature (401 if wrong), de-duplicates on ``webhook-id`` and
  ``Idempotency-Key`` (a repeat gets the first answer again), answers ``{"oa_request_id", "status": "pending"}``
  and, when a callback URL is set, afterwards POSTs the decision (``decide(document)``, default: approve) to it,
  signed with the callback secret. ``fail_next`` makes the next N deliveries answer 500, to exercise retries.
* ``GET /received`` lists the approvals created.

Run standalone: ``python -m api.oa_receiver --port 8001 --callback-url http://127.0.0.1:8000/api/oa/callback``
(secrets from ``REIMBURSE_OA_WEBHOOK_SECRET`` / ``REIMBURSE_OA_CALLBACK_SECRET`` or the options).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse

from pipeline.sync import webhook

log = logging.getLogger(__name__)

Decider = Callable[[dict[str, Any]], tuple[str, str]]  # document -> (decision, comment)


def approve_all(document: dict[str, Any]) -> tuple[str, str]:
    return "approved", "同意（演示 OA 自动审批）"


@dataclass
class Approval:
    oa_request_id: str
    message_id: str
    idempotency_key: str
    document: dict[str, Any]
    decision: str | None = None


@dataclass
class DemoOa:
    webhook_secret: str
    callback_url: str | None = None
    callback_secret: str | None = None
    decide: Decider = approve_all
    fail_next: int = 0  # answer this many deliveries with HTTP 500 before accepting
    approvals: list[Approval] = field(default_factory=list)
    deliveries: int = 0  # every authentic POST, failed and repeated ones included
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, message_id: str, idempotency_key: str, document: dict[str, Any]) -> tuple[Approval, bool]:
        """The approval for this message (new or the earlier one) and whether it was just created."""
        with self._lock:
            for approval in self.approvals:
                if approval.message_id == message_id or approval.idempotency_key == idempotency_key:
                    return approval, False
            approval = Approval(f"OA{len(self.approvals) + 1:06d}", message_id, idempotency_key, document)
            self.approvals.append(approval)
            return approval, True

    def call_back(self, approval: Approval, attempts: int = 3) -> None:
        decision, comment = self.decide(approval.document)
        approval.decision = decision
        body = json.dumps({"doc_no": approval.document.get("doc_no"), "decision": decision,
                           "oa_request_id": approval.oa_request_id, "comment": comment},
                          ensure_ascii=False).encode()
        for attempt in range(1, attempts + 1):
            headers = webhook.signed_headers(self.callback_secret, f"cb_{approval.oa_request_id}", body)
            headers["Content-Type"] = "application/json"
            try:
                response = httpx.post(self.callback_url, content=body, headers=headers, timeout=10)
                if response.status_code < 500:
                    if response.status_code >= 300:
                        log.warning("callback for %s refused: %s %s", approval.oa_request_id,
                                    response.status_code, response.text)
                    return
            except httpx.HTTPError as exc:
                log.warning("callback for %s failed: %r", approval.oa_request_id, exc)
            time.sleep(0.5 * attempt)


def create_receiver_app(oa: DemoOa) -> FastAPI:
    app = FastAPI(title="demo OA")

    @app.post("/webhook")
    async def receive(request: Request, background: BackgroundTasks):
        body = await request.body()
        try:
            webhook.verify(oa.webhook_secret, request.headers, body)
        except webhook.WebhookVerificationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        with oa._lock:
            oa.deliveries += 1
            if oa.fail_next > 0:
                oa.fail_next -= 1
                return JSONResponse({"error": "demo OA is failing on purpose"}, status_code=500)
        envelope = json.loads(body)
        approval, created = oa.receive(request.headers["webhook-id"],
                                       request.headers.get("idempotency-key", request.headers["webhook-id"]),
                                       envelope.get("data", {}))
        if created and oa.callback_url and oa.callback_secret:
            background.add_task(oa.call_back, approval)
        return {"oa_request_id": approval.oa_request_id, "status": "pending", "duplicate": not created}

    @app.get("/received")
    def received():
        return [{"oa_request_id": a.oa_request_id, "doc_no": a.document.get("doc_no"), "decision": a.decision}
                for a in oa.approvals]

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-secret", default=os.environ.get("REIMBURSE_OA_WEBHOOK_SECRET"))
    parser.add_argument("--callback-url", default=None)
    parser.add_argument("--callback-secret", default=os.environ.get("REIMBURSE_OA_CALLBACK_SECRET"))
    parser.add_argument("--reject", action="store_true", help="reject every claim instead of approving it")
    args = parser.parse_args(argv)
    if not args.webhook_secret:
        parser.error("a webhook secret is needed (--webhook-secret or REIMBURSE_OA_WEBHOOK_SECRET)")
    decide = (lambda doc: ("rejected", "驳回（演示 OA）")) if args.reject else approve_all
    oa = DemoOa(args.webhook_secret, args.callback_url, args.callback_secret, decide)
    uvicorn.run(create_receiver_app(oa), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
