"""Travel requests (出差申请): create, list, read — with the allowances the trip earns under the policy."""

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlmodel import SQLModel

from api import policy_service, travel
from api.deps import SessionDep
from api.policy_tables import TravelRequestRecord
from api.tables import Employee
from pipeline import policy as P

router = APIRouter(prefix="/travel-requests", tags=["travel"])


class TravelRequestPublic(SQLModel):
    id: int
    employee_no: str
    start: date
    end: date
    cities: list[str]
    purpose: str
    origin: str | None
    approved: bool
    allowance_total: Decimal | None = None  # None without a policy
    allowances: list[dict[str, Any]] = []


def _public(session, record: TravelRequestRecord) -> TravelRequestPublic:
    employee = session.get(Employee, record.employee_id)
    out = TravelRequestPublic.model_validate(record, update={"employee_no": employee.emp_no})
    policy = policy_service.current_policy()
    if policy is not None:
        who = P.Employee(emp_no=employee.emp_no, grade=employee.grade or "", department=employee.department,
                         cost_center=employee.cost_center)
        lines = P.compute_allowances(policy_service.travel_request(record), who, policy)
        out.allowances = [{"kind": a.kind, "start": a.start.isoformat(), "end": a.end.isoformat(), "days": a.days,
                           "rate": str(a.rate), "amount": str(a.amount), "city": a.city} for a in lines]
        out.allowance_total = sum((a.amount for a in lines), Decimal("0.00"))
    return out


@router.post("", status_code=201, response_model=TravelRequestPublic)
def create_request(body: travel.TravelRequestCreate, session: SessionDep):
    return _public(session, travel.create_request(session, body))


@router.get("", response_model=list[TravelRequestPublic])
def list_requests(session: SessionDep, employee_no: str | None = None):
    return [_public(session, r) for r in travel.list_requests(session, employee_no)]


@router.get("/{request_id}", response_model=TravelRequestPublic)
def read_request(request_id: int, session: SessionDep):
    return _public(session, travel.get_request(session, request_id))
