"""The finance review queue: claims whose evaluation routed them to a person (state ``in_review``).

* ``review_queue(session, employee_no=None, rule_id=None, severity=None) -> list[Claim]``: claims in review, oldest
  first, optionally of one employee or with a finding of that rule / severity.
* ``decide(session, claim_id, decision, reason, actor) -> Claim``, in one transaction with its audit row:
  ``approve`` -> pending_approval with the outbox message for the OA; ``reject`` -> rejected, invoices and budget
  released; ``return`` -> back to the employee as a draft (ledger keys and budget released, invoices stay on it).
"""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session, col, delete, exists, select

from api import budgets, services
from api.errors import InvalidRequest
from api.tables import Claim, Employee, FindingRecord, InvoiceLedger
from pipeline.claim import ClaimState, transition

Decision = Literal["approve", "reject", "return"]


def review_queue(session: Session, employee_no: str | None = None, rule_id: str | None = None,
                 severity: str | None = None) -> list[Claim]:
    query = select(Claim).where(Claim.state == ClaimState.IN_REVIEW)
    if employee_no:
        query = query.join(Employee, col(Employee.id) == Claim.employee_id).where(Employee.emp_no == employee_no)
    if rule_id or severity:
        match = select(FindingRecord.id).where(FindingRecord.claim_id == Claim.id)
        if rule_id:
            match = match.where(FindingRecord.rule_id == rule_id)
        if severity:
            match = match.where(FindingRecord.severity == severity)
        query = query.where(exists(match))
    return list(session.exec(query.order_by(col(Claim.updated_at), col(Claim.id))))


def decide(session: Session, claim_id: int, decision: Decision, reason: str, actor: str) -> Claim:
    if not reason.strip() or not actor.strip():
        raise InvalidRequest("a review decision needs a reason and the reviewer")
    claim = services.get_claim(session, claim_id, for_update=True)
    detail = f"finance review {decision}: {reason.strip()}"
    if decision == "approve":
        transition(claim.state, ClaimState.PENDING_APPROVAL)
        services.queue_for_oa(session, claim, actor, detail + " (queued for delivery to OA)")
    elif decision == "reject":
        services._move(session, claim, ClaimState.REJECTED, actor, detail)
        services._release_invoices(session, claim)
    elif decision == "return":
        services._move(session, claim, ClaimState.DRAFT, actor, detail)
        session.exec(delete(InvoiceLedger).where(col(InvoiceLedger.claim_id) == claim.id))
        budgets.release_claim(session, claim.id)
    else:
        raise InvalidRequest(f"unknown decision {decision!r}")
    session.commit()
    session.refresh(claim)
    return claim
