"""Claims (报销单): create from uploaded invoices, read, submit for approval."""

from fastapi import APIRouter

from api import services
from api.deps import SessionDep
from api.tables import AuditEntryPublic, Claim, ClaimCreate, ClaimPublic, ClaimSubmit

router = APIRouter(prefix="/claims", tags=["claims"])


def claim_public(claim: Claim) -> ClaimPublic:
    return ClaimPublic.model_validate(claim, update={"employee_no": claim.employee.emp_no})


@router.post("", status_code=201, response_model=ClaimPublic)
def create_claim(body: ClaimCreate, session: SessionDep):
    """A draft claim of the employee's invoices, with totals and the policy findings."""
    return claim_public(services.create_claim(session, body.employee_no, body.invoice_ids, body.reason,
                                              cost_center=body.cost_center, project=body.project,
                                              trip_start=body.trip_start, trip_end=body.trip_end,
                                              trip_request_id=body.trip_request_id))


@router.get("/{claim_id}", response_model=ClaimPublic)
def read_claim(claim_id: int, session: SessionDep):
    return claim_public(services.get_claim(session, claim_id))


@router.get("/{claim_id}/audit", response_model=list[AuditEntryPublic])
def read_claim_audit(claim_id: int, session: SessionDep):
    return services.claim_audit(session, claim_id)


@router.post("/{claim_id}/submit", response_model=ClaimPublic)
def submit_claim(claim_id: int, session: SessionDep, body: ClaimSubmit | None = None):
    """Send the claim for approval: refused (422) while a finding blocks it; queues it for the OA otherwise."""
    return claim_public(services.submit_claim(session, claim_id, body.actor if body else None))
