"""Cost centre (成本中心) and project (项目) of a claim: an explicit choice, the trip, the employee, the company.

Org file additions (all optional, so older files load unchanged)::

    company: {legal_name: ..., tax_id: ..., default_cost_center: CC0001, default_project: P-GENERAL}
    projects:
      - {code: P2026-07, name: 客户现场实施, cost_center: CC1001}   # cost_center optional; active: false retires one

Contract:
* ``load_org_extras(session, company, org)``: stores the company defaults and upserts the projects (no commit).
* ``TripContext(start, end, cost_center=None, project=None)``: the approved trip a claim belongs to;
  ``contains(day)`` is True/False, or None when the day is unknown. ``trip_context(start, end)`` builds one from
  a claim's dates (None without dates; ``InvalidRequest`` for one date alone or an end before the start).
* ``resolve(session, employee, cost_center=None, project=None, trip=None) -> CostAssignment``. First value wins,
  its source is recorded. Project: the claim's explicit choice (``claim``), the trip's (``trip``), the company
  default (``company``). Cost centre: the claim's explicit choice (``claim``), the chosen project's own
  (``project``), the trip's (``trip``), the employee's (``employee``: their own, else their department's, as the
  org file gives them), the company default (``company``). An explicit project must be an active project of the
  employee's company when the company lists projects (``InvalidRequest`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from api.errors import InvalidRequest
from api.tables import Company, Employee, Project


@dataclass(frozen=True)
class TripContext:
    start: date | None
    end: date | None
    cost_center: str | None = None
    project: str | None = None

    def contains(self, day: date | None) -> bool | None:
        if day is None or self.start is None or self.end is None:
            return None
        return self.start <= day <= self.end


def trip_context(start: date | None, end: date | None) -> TripContext | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidRequest("a trip needs both trip_start and trip_end")
    if end < start:
        raise InvalidRequest(f"the trip ends ({end}) before it starts ({start})")
    return TripContext(start, end)


@dataclass(frozen=True)
class CostAssignment:
    cost_center: str | None
    cost_center_source: str | None
    project: str | None
    project_name: str | None
    project_source: str | None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def load_org_extras(session: Session, company: Company, org: dict[str, Any]) -> None:
    spec = org.get("company") or {}
    company.default_cost_center = _text(spec.get("default_cost_center"))
    company.default_project = _text(spec.get("default_project"))
    for p in org.get("projects") or []:
        code = _text(p.get("code"))
        if code is None:
            raise InvalidRequest("a project in the org file has no code")
        project = session.exec(select(Project).where(Project.company_id == company.id, Project.code == code)).first()
        if project is None:
            project = Project(company_id=company.id, code=code)
            session.add(project)
        project.name, project.cost_center = _text(p.get("name")), _text(p.get("cost_center"))
        project.active = bool(p.get("active", True))


def _project(session: Session, company_id: int, code: str, explicit: bool) -> Project | None:
    project = session.exec(select(Project).where(Project.company_id == company_id, Project.code == code)).first()
    if explicit:
        listed = session.exec(select(Project.id).where(Project.company_id == company_id).limit(1)).first()
        if listed is not None and (project is None or not project.active):
            raise InvalidRequest(f"no active project {code!r} in the company's project list")
    return project


def resolve(session: Session, employee: Employee, cost_center: str | None = None, project: str | None = None,
            trip: TripContext | None = None) -> CostAssignment:
    company = employee.company
    cost_center, project = _text(cost_center), _text(project)
    project_code, project_source = None, None
    for code, source in ((project, "claim"), (trip.project if trip else None, "trip"),
                         (company.default_project, "company")):
        if code:
            project_code, project_source = code, source
            break
    record = _project(session, company.id, project_code, project_source == "claim") if project_code else None
    for value, source in ((cost_center, "claim"), (record.cost_center if record else None, "project"),
                          (trip.cost_center if trip else None, "trip"), (employee.cost_center, "employee"),
                          (company.default_cost_center, "company")):
        if value:
            return CostAssignment(value, source, project_code, record.name if record else None, project_source)
    return CostAssignment(None, None, project_code, record.name if record else None, project_source)
