"""The OA's signed decision callback."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel import SQLModel

from api import services
from api.deps import AdapterDep, SessionDep
from pipeline.claim import ClaimState

router = APIRouter(prefix="/oa", tags=["oa"])


class CallbackResult(SQLModel):
    claim_id: int
    doc_no: str
    state: ClaimState
    changed: bool  # false for a repeated or superseded callback


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post("/callback", response_model=CallbackResult)
def oa_callback(request: Request, body: Annotated[bytes, Depends(raw_body)], session: SessionDep,
                adapter: AdapterDep):
    """Verifies the Standard Webhooks signature over the raw body, then applies the decision (idempotent)."""
    decision = adapter.parse_callback(request.headers, body)
    claim, changed = services.apply_oa_decision(session, decision)
    return CallbackResult(claim_id=claim.id, doc_no=claim.doc_no, state=claim.state, changed=changed)
