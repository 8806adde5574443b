"""The OA's callbacks and the sync statistics.

``GET|POST /api/oa/callback`` hands the raw request (method, query, headers, body) to the configured adapter's
``handle_callback``: it verifies the OA's signature (Standard Webhooks, DingTalk / WeCom SHA1 + AES, Feishu
SHA256 + AES or the Verification Token) and answers URL checks (WeCom's GET ``echostr``, Feishu's ``challenge``).
A status then goes to ``services.apply_oa_decision``, which finds the claim by claim id, ``doc_no`` or the OA's
request id, moves it only on a final decision and treats repeated, late and out-of-order callbacks as harmless.
The reply is the adapter's own when its OA expects one (DingTalk's encrypted ``success``, WeCom's echo), else
``CallbackResult`` (or ``{"ok": true}`` for an event that carries no status). An unknown claim answers 404 so the
OA retries later (the relay may not have stored the OA's id yet); reconciliation catches what is never retried.

``GET /api/oa/stats``: outbox counts, the sync success rate and this process's delivery counters
(``api.metrics.sync_stats``).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import SQLModel

from api import services
from api.deps import AdapterDep, SessionDep
from api.errors import NotFound
from api.metrics import sync_stats
from api.oa_config import adapter_label
from pipeline.claim import ClaimState
from pipeline.sync.base import CallbackInvalid, CallbackRejected, CallbackReply, CallbackRequest, handle_callback

router = APIRouter(prefix="/oa", tags=["oa"])
DEFAULT_REPLY = CallbackReply()


class CallbackResult(SQLModel):
    claim_id: int
    doc_no: str
    state: ClaimState
    changed: bool  # false for a repeated, superseded or not yet final callback


async def raw_body(request: Request) -> bytes:
    return await request.body()


def _count(request: Request, outcome: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.callback(outcome)


@router.post("/callback", response_model=CallbackResult,
             responses={200: {"description": "the decision applied, or the reply the OA expects"}})
@router.get("/callback", operation_id="oa_callback_url_check", response_model=None,
            summary="URL verification (WeCom echostr; others answer as for POST)")
def oa_callback(request: Request, body: Annotated[bytes, Depends(raw_body)], session: SessionDep,
                adapter: AdapterDep) -> Any:
    """Verifies the callback the way the configured OA signs it, then applies the decision (idempotent)."""
    callback = CallbackRequest(request.method, dict(request.query_params), dict(request.headers), body)
    try:
        outcome = handle_callback(adapter, callback)
    except CallbackRejected:
        _count(request, "rejected")
        raise
    except CallbackInvalid:
        _count(request, "invalid")
        raise
    reply = outcome.reply
    if outcome.decision is None:
        _count(request, "handshake")
        return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)
    try:
        claim, changed = services.apply_oa_decision(session, outcome.decision)
    except NotFound:
        _count(request, "unknown_claim")
        raise
    _count(request, "applied" if changed else ("status" if not outcome.decision.is_final else "duplicate"))
    if reply != DEFAULT_REPLY:
        return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)
    return CallbackResult(claim_id=claim.id, doc_no=claim.doc_no, state=claim.state, changed=changed)


@router.get("/stats")
def oa_stats(request: Request, session: SessionDep) -> dict[str, Any]:
    """Outbox counts by status, success rate (delivered / (delivered + dead)), first-attempt rate, claims waiting
    for the OA, and the delivery counters of this process."""
    adapter = request.app.state.adapter
    return sync_stats(session, adapter_label(adapter), getattr(request.app.state, "metrics", None))
