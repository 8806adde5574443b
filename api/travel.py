"""Travel requests (出差申请): stored, read, and linked to claims.

``create_request(session, body) -> TravelRequestRecord`` validates with ``pipeline.policy.TravelRequest`` (dates in
order, at least one city). ``link_claim(session, claim, request_id)``: the request must be the claimant's own and
approved; the claim's evaluation then uses it (R7 trip dates, R8 route, allowances). ``allowances(request, emp)``:
the per-diem the trip earns for the employee under the policy in force, computed, never claimed.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, Session, SQLModel, col, select

from api import policy_service
from api.errors import Conflict, InvalidRequest, NotFound
from api.policy_tables import ClaimEvaluationRecord, TravelRequestRecord
from api.services import get_employee
from api.tables import Claim


class TravelRequestCreate(SQLModel):
    employee_no: str
    start: date
    end: date
    cities: list[str] = Field(min_length=1, max_length=20)
    purpose: str = Field(min_length=1, max_length=500)
    origin: str | None = None
    approved: bool = False


def create_request(session: Session, body: TravelRequestCreate) -> TravelRequestRecord:
    employee = get_employee(session, body.employee_no)
    record = TravelRequestRecord(employee_id=employee.id, start=body.start, end=body.end,
                                 cities=[c.strip() for c in body.cities if c.strip()], purpose=body.purpose.strip(),
                                 origin=body.origin, approved=body.approved)
    try:
        policy_service.travel_request(record)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def get_request(session: Session, request_id: int) -> TravelRequestRecord:
    record = session.get(TravelRequestRecord, request_id)
    if record is None:
        raise NotFound(f"no travel request {request_id}")
    return record


def list_requests(session: Session, employee_no: str | None = None) -> list[TravelRequestRecord]:
    query = select(TravelRequestRecord).order_by(col(TravelRequestRecord.id))
    if employee_no:
        query = query.where(TravelRequestRecord.employee_id == get_employee(session, employee_no).id)
    return list(session.exec(query))


def link_claim(session: Session, claim: Claim, request_id: int) -> None:
    record = get_request(session, request_id)
    if record.employee_id != claim.employee_id:
        raise InvalidRequest(f"travel request {request_id} is not the claimant's")
    if not record.approved:
        raise Conflict(f"travel request {request_id} is not approved")
    evaluation = session.get(ClaimEvaluationRecord, claim.id) or ClaimEvaluationRecord(claim_id=claim.id)
    evaluation.trip_request_id = record.id
    session.add(evaluation)
    session.flush()
