"""Company master data the rules compare invoices against: legal name and USCC, departments, employees, projects.

``load_org(path) -> Org`` reads the org file (``samples/org/company.yaml`` shape, the same file ``api.services.load_org``
loads into the database). Keys this module does not use are ignored (the file is shared with the API); a missing
company, an employee without emp_no/grade/department, a duplicate emp_no or a department code that does not exist
fail with ``OrgError`` naming the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.yamlfile import read_yaml

_BRACKETS = str.maketrans({"（": "(", "）": ")", " ": "", "\u3000": ""})


class OrgError(ValueError):
    """The org (master data) file is malformed; the message names the entry."""


def normalize_name(name: str | None) -> str:
    """Company names compare equal regardless of full/half-width brackets and spaces (DOMAIN §6.3 R5)."""
    return (name or "").translate(_BRACKETS).strip()


@dataclass(frozen=True)
class CompanyInfo:
    legal_name: str
    tax_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_name", normalize_name(self.legal_name))
        object.__setattr__(self, "_tax_id", self.tax_id.strip().upper())

    def is_our_name(self, name: str | None) -> bool:
        return name == self.legal_name or normalize_name(name) == self._name

    def is_our_tax_id(self, tax_id: str | None) -> bool:
        return tax_id == self.tax_id or (tax_id or "").strip().upper() == self._tax_id


@dataclass(frozen=True)
class Employee:
    emp_no: str | None
    grade: str
    department: str | None = None
    cost_center: str | None = None
    name: str | None = None
    manager: str | None = None


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    cost_center: str | None = None


@dataclass(frozen=True)
class Project:
    code: str
    name: str
    cost_center: str | None = None


@dataclass(frozen=True)
class Org:
    company: CompanyInfo
    departments: dict[str, Department]
    employees: dict[str, Employee]
    projects: dict[str, Project]

    def employee(self, emp_no: str) -> Employee:
        try:
            return self.employees[emp_no]
        except KeyError:
            raise OrgError(f"no employee {emp_no!r} in the master data") from None


def _text(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None or str(value).strip() == "":
        if required:
            raise OrgError(f"{where}: '{key}' is missing")
        return None
    return str(value).strip()


def org_from_dict(data: Any, where: str = "org") -> Org:
    if not isinstance(data, dict) or not isinstance(data.get("company"), dict):
        raise OrgError(f"{where}: a 'company' mapping with legal_name and tax_id is required")
    company = CompanyInfo(legal_name=_text(data["company"], "legal_name", f"{where}: company"),
                          tax_id=_text(data["company"], "tax_id", f"{where}: company"))
    departments: dict[str, Department] = {}
    for n, d in enumerate(data.get("departments") or []):
        at = f"{where}: departments[{n}]"
        code = _text(d, "code", at)
        departments[code] = Department(code, _text(d, "name", at), _text(d, "cost_center", at, False))
    projects: dict[str, Project] = {}
    for n, p in enumerate(data.get("projects") or []):
        at = f"{where}: projects[{n}]"
        code = _text(p, "code", at)
        projects[code] = Project(code, _text(p, "name", at), _text(p, "cost_center", at, False))
    employees: dict[str, Employee] = {}
    for n, e in enumerate(data.get("employees") or []):
        at = f"{where}: employees[{n}]"
        emp_no = _text(e, "emp_no", at)
        if emp_no in employees:
            raise OrgError(f"{at}: emp_no {emp_no!r} appears twice")
        dept = _text(e, "department", at)
        if departments and dept not in departments:
            raise OrgError(f"{at}: department {dept!r} is not in 'departments'")
        cost_center = _text(e, "cost_center", at, False) or (departments[dept].cost_center if dept in departments
                                                             else None)
        employees[emp_no] = Employee(emp_no=emp_no, grade=_text(e, "grade", at), department=dept,
                                     cost_center=cost_center, name=_text(e, "name", at, False),
                                     manager=_text(e, "manager", at, False))
    return Org(company, departments, employees, projects)


def load_org(path: str | Path) -> Org:
    return org_from_dict(read_yaml(path, "the master data file", OrgError), str(path))
