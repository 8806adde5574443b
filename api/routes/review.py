"""Finance review queue and claim evaluations: list, open, decide (audited); the evaluation of any claim."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlmodel import Field, SQLModel

from api import budgets, policy_service, review
from api.deps import SessionDep
from api.routes.claims import claim_public
from api.tables import ClaimPublic

router = APIRouter(tags=["review"])


class EvaluationPublic(SQLModel):
    claim_id: int
    route: str | None = None
    route_reasons: list[str] = []
    amount_claimed: Decimal | None = None
    amount_after_caps: Decimal | None = None
    allowance_total: Decimal | None = None  # computed per-diem, not claimed
    allowances: list[dict[str, Any]] = []
    trip_request_id: int | None = None
    budgets: list[dict[str, Any]] = []  # what the claim reserved / consumed, per budget


class ReviewItem(SQLModel):
    claim: ClaimPublic
    evaluation: EvaluationPublic


class ReviewDecision(SQLModel):
    decision: review.Decision
    reason: str = Field(min_length=1, max_length=500)
    actor: str = Field(min_length=1, max_length=64)


def evaluation_public(session, claim_id: int) -> EvaluationPublic:
    record = policy_service.evaluation_record(session, claim_id)
    held = [{"scope": a.scope, "code": a.code, "amount": str(c.amount), "state": c.state}
            for c, a in budgets.reservations(session, claim_id)]
    if record is None:
        return EvaluationPublic(claim_id=claim_id, budgets=held)
    return EvaluationPublic.model_validate(record, update={"budgets": held})


@router.get("/review", response_model=list[ReviewItem])
def list_review(session: SessionDep, employee_no: str | None = None, rule_id: str | None = None,
                severity: str | None = None):
    return [ReviewItem(claim=claim_public(c), evaluation=evaluation_public(session, c.id))
            for c in review.review_queue(session, employee_no, rule_id, severity)]


@router.get("/review/{claim_id}", response_model=ReviewItem)
def open_review(claim_id: int, session: SessionDep):
    from api.services import get_claim
    claim = get_claim(session, claim_id)
    return ReviewItem(claim=claim_public(claim), evaluation=evaluation_public(session, claim.id))


@router.post("/review/{claim_id}/decision", response_model=ClaimPublic)
def decide(claim_id: int, body: ReviewDecision, session: SessionDep):
    return claim_public(review.decide(session, claim_id, body.decision, body.reason, body.actor))


@router.get("/claims/{claim_id}/evaluation", response_model=EvaluationPublic)
def claim_evaluation(claim_id: int, session: SessionDep):
    from api.services import get_claim
    get_claim(session, claim_id)
    return evaluation_public(session, claim_id)
