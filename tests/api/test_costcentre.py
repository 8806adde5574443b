"""Cost centre and project of a claim: explicit choice, project, trip, employee's department, company default."""

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api import costcentre, services
from api.app import create_app
from api.document import claim_document
from api.errors import InvalidRequest
from api.settings import Settings
from api.tables import Project

EXTENDED = {
    "company": {"legal_name": "武汉市车城物流有限公司", "tax_id": "914201007483062457",
                "default_cost_center": "CC0000", "default_project": "P-GEN"},
    "departments": [{"code": "D01", "name": "运输部", "cost_center": "CC1001"},
                    {"code": "D09", "name": "筹备组"}],
    "employees": [{"emp_no": "E001", "name": "张三", "department": "D01", "grade": "G4_staff"},
                  {"emp_no": "E002", "name": "李四", "department": "D01", "cost_center": "CC1009"},
                  {"emp_no": "E009", "name": "赵九", "department": "D09"}],
    "projects": [{"code": "P2026-07", "name": "客户现场实施", "cost_center": "CC3001"},
                 {"code": "P-GEN", "name": "日常运营"},
                 {"code": "P-OLD", "name": "已结项目", "active": False}],
}


@pytest.fixture
def extended(session):
    services.load_org(session, EXTENDED)
    return session


def assignment(session, emp_no, **choice):
    return costcentre.resolve(session, services.get_employee(session, emp_no), **choice)


def test_defaults_come_from_the_department_and_the_company(extended):
    a = assignment(extended, "E001")
    assert (a.cost_center, a.cost_center_source, a.project, a.project_source) == ("CC1001", "employee", "P-GEN",
                                                                                  "company")
    assert assignment(extended, "E002").cost_center == "CC1009"  # the employee's own beats the department's
    nobody = assignment(extended, "E009")  # a department without a cost centre: the company default
    assert (nobody.cost_center, nobody.cost_center_source) == ("CC0000", "company")


def test_an_explicit_choice_beats_the_project_which_beats_the_trip(extended):
    project = assignment(extended, "E001", project="P2026-07")
    assert (project.cost_center, project.cost_center_source, project.project, project.project_name,
            project.project_source) == ("CC3001", "project", "P2026-07", "客户现场实施", "claim")
    explicit = assignment(extended, "E001", project="P2026-07", cost_center="CC7777")
    assert (explicit.cost_center, explicit.cost_center_source) == ("CC7777", "claim")
    trip = costcentre.TripContext(date(2026, 3, 2), date(2026, 3, 4), cost_center="CC5005", project="P-GEN")
    by_trip = assignment(extended, "E001", trip=trip)
    assert (by_trip.cost_center, by_trip.cost_center_source, by_trip.project, by_trip.project_source) == (
        "CC5005", "trip", "P-GEN", "trip")
    assert assignment(extended, "E001", trip=trip, project="P2026-07").cost_center == "CC3001"


def test_an_unknown_or_retired_project_is_refused_when_the_company_lists_projects(extended, session):
    for code in ("P-NOPE", "P-OLD"):
        with pytest.raises(InvalidRequest, match=code):
            assignment(extended, "E001", project=code)


def test_org_files_without_the_new_keys_load_and_projects_upsert(session, org):
    a = assignment(session, "E001", project="ANY-CODE")  # no project list: any code is taken as given
    assert (a.cost_center, a.project, a.project_source) == ("CC1001", "ANY-CODE", "claim")
    assert assignment(session, "E001").project is None
    repo = Path(__file__).resolve().parents[2]
    services.load_org(session, services.read_org_file(repo / "samples" / "org" / "company.yaml"))
    shipped = session.exec(select(Project)).all()
    assert shipped and all(p.code and p.active for p in shipped)
    services.load_org(session, EXTENDED)
    services.load_org(session, {**EXTENDED, "projects": [{"code": "P2026-07", "name": "改名", "cost_center": None}]})
    renamed = session.exec(select(Project).where(Project.code == "P2026-07")).one()
    assert (renamed.name, renamed.cost_center) == ("改名", None)
    assert {p.code for p in session.exec(select(Project))} == {p.code for p in shipped} | {"P2026-07", "P-GEN",
                                                                                          "P-OLD"}


def test_trip_dates_are_checked():
    assert costcentre.trip_context(None, None) is None
    assert costcentre.trip_context(date(2026, 3, 2), date(2026, 3, 2)).contains(date(2026, 3, 2))
    with pytest.raises(InvalidRequest):
        costcentre.trip_context(date(2026, 3, 4), date(2026, 3, 2))
    with pytest.raises(InvalidRequest):
        costcentre.trip_context(None, date(2026, 3, 2))


def test_claim_lines_and_the_document_carry_them_over_http(database_url, session_factory, storage_dir, make_pdf):
    with session_factory() as session:
        services.load_org(session, EXTENDED)
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None)
    with TestClient(create_app(settings)) as client:
        files = [("files", ("a.pdf", make_pdf("26422000000123456789", "106.00"), "application/pdf"))]
        [uploaded] = client.post("/api/employees/E001/uploads", files=files).json()
        response = client.post("/api/claims", json={"employee_no": "E001", "reason": "客户现场",
                                                    "invoice_ids": [uploaded["invoices"][0]["id"]],
                                                    "project": "P2026-07"})
        assert response.status_code == 201, response.text
        claim = response.json()
        assert (claim["cost_center"], claim["cost_center_source"], claim["project"]) == ("CC3001", "project",
                                                                                        "P2026-07")
        assert [(x["cost_center"], x["project"]) for x in claim["lines"]] == [("CC3001", "P2026-07")]
        refused = client.post("/api/claims", json={"employee_no": "E001", "reason": "x", "project": "P-OLD",
                                                   "invoice_ids": [uploaded["invoices"][0]["id"]]})
        assert refused.status_code == 422 and "P-OLD" in refused.json()["detail"]
    with session_factory() as session:
        stored = services.get_claim(session, claim["id"])
        doc = claim_document(stored, stored.employee.company)
        assert doc["cost_center"] == "CC3001" and doc["project"] == {"code": "P2026-07"}
        assert doc["lines"][0]["cost_center"] == "CC3001"
