"""``reimburse check --json CLAIM.json``: evaluate a claim described in JSON against the policy; saves nothing.

Claim JSON (``-`` reads stdin)::

    {"employee": {"emp_no": "E001"}            # or inline: {"grade": "G4_staff", "department": "D01", ...}
     "submitted_on": "2026-03-10",             # default: today
     "claim_no": "BX…", "project": "P2026-07", # optional
     "trip": {"start": "2026-03-02", "end": "2026-03-04", "cities": ["北京"], "purpose": "…", "approved": true,
              "request_no": "…", "origin": "武汉", "stops": [{"city", "start", "end"}], "rail_hours": "4.5",
              "host_meal_days": 0, "host_transport_days": 0},          # optional
     "invoices": [{"kind", "fields", "confidence", …}],  # as printed by `reimburse extract --json` (an extract
                                                          # record {"file", "invoices": [...]} is accepted too)
     "history": [{"claim_no", "employee", "invoices": [...]}],  # optional: other live claims (R3/R12/R13)
     "budget_usage": {"department:D01": {"reserved": "0", "consumed": "0"}}}  # optional: budget already used

Each invoice may add: ``category`` (chosen by a person; else ``fields.category`` with ``category_confidence`` from
the model, abstained below the pipeline's threshold or when ``"abstained": true``), ``city``, ``check_in``,
``check_out``, ``nights``, ``attendees``, ``pre_approval``, ``has_goods_list``.

Output: ``{"policy", "findings", "route", "route_reasons", "allowances", "amounts"}``. Bad input (unreadable or
invalid JSON, unknown employee or grade, invalid policy or org file) prints ``error: …`` on stderr, exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import get_pipeline_settings
from pipeline.policy.budget import BudgetState, budget_lines
from pipeline.policy.company import Employee, Org, OrgError, load_org
from pipeline.policy.engine import ClaimEvaluation, evaluate_claim
from pipeline.policy.history import InMemoryHistory
from pipeline.policy.inputs import ClaimInput, ClaimLine
from pipeline.policy.schema import Money, Policy, PolicyError, load_policy, master_data_path
from pipeline.policy.travel import Stop, TravelRequest
from pipeline.serialize import invoice_from_json
from pipeline.types import Classification, Finding

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO_ROOT / "samples" / "policy" / "policy.yaml"
_LINE_KEYS = ("category", "abstained", "city", "check_in", "check_out", "nights", "attendees", "pre_approval",
              "has_goods_list", "model_version")


class ClaimInputError(ValueError):
    """The claim JSON cannot be evaluated; the message says where and why."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployeeDoc(_Doc):
    emp_no: str | None = None
    grade: str | None = None
    department: str | None = None
    cost_center: str | None = None
    name: str | None = None


class StopDoc(_Doc):
    city: str
    start: date
    end: date


class TripDoc(_Doc):
    start: date
    end: date
    cities: list[str] = Field(min_length=1)
    purpose: str = ""
    approved: bool = True
    request_no: str | None = None
    origin: str | None = None
    stops: list[StopDoc] = []
    rail_hours: Money | None = None
    host_meal_days: int = 0
    host_transport_days: int = 0


class LineDoc(_Doc):
    model_config = ConfigDict(extra="ignore")
    category: str | None = None
    abstained: bool | None = None
    city: str | None = None
    check_in: date | None = None
    check_out: date | None = None
    nights: int | None = Field(None, ge=0)
    attendees: int | None = Field(None, ge=0)
    pre_approval: str | None = None
    has_goods_list: bool = False
    model_version: str | None = None


class HistoryDoc(_Doc):
    claim_no: str
    employee: str | None = None
    invoices: list[dict[str, Any]]


class UsageDoc(_Doc):
    reserved: Money = Decimal("0.00")
    consumed: Money = Decimal("0.00")


class ClaimDoc(_Doc):
    employee: EmployeeDoc
    submitted_on: date | None = None
    claim_no: str | None = None
    project: str | None = None
    trip: TripDoc | None = None
    invoices: list[dict[str, Any]] = Field(min_length=1)
    history: list[HistoryDoc] = []
    budget_usage: dict[str, UsageDoc] = {}


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'claim'}: {e['msg']}" for e in exc.errors())


def _flatten(raw: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ClaimInputError(f"invoices[{n}]: expected an object")
        if "kind" not in entry and isinstance(entry.get("invoices"), list):  # an extract record
            out += [(f"invoices[{n}].invoices[{m}]", inv) for m, inv in enumerate(entry["invoices"])]
        else:
            out.append((f"invoices[{n}]", entry))
    return out


def _invoice(where: str, raw: dict[str, Any]):
    if not isinstance(raw, dict) or not isinstance(raw.get("fields", {}), dict):
        raise ClaimInputError(f"{where}: an invoice needs 'kind' and a 'fields' object")
    try:
        return invoice_from_json(raw)
    except (ValueError, ArithmeticError, TypeError, KeyError, AttributeError) as exc:
        raise ClaimInputError(f"{where}: {exc}") from None


def _line(where: str, raw: dict[str, Any]) -> ClaimLine:
    inv = _invoice(where, raw)
    try:
        doc = LineDoc.model_validate({k: raw[k] for k in _LINE_KEYS if k in raw})
    except ValidationError as exc:
        raise ClaimInputError(f"{where}: {_validation_message(exc)}") from None
    fields = raw.get("fields", {})
    classification = None
    if doc.category is None and fields.get("category"):
        confidence = float(fields.get("category_confidence", raw.get("confidence", {}).get("category", 1.0)))
        abstained = doc.abstained if doc.abstained is not None else \
            confidence < get_pipeline_settings().abstain_threshold
        classification = Classification(fields["category"], confidence, abstained, doc.model_version or "?")
    return ClaimLine(inv, category=doc.category, classification=classification, city=doc.city,
                     check_in=doc.check_in, check_out=doc.check_out, nights=doc.nights, attendees=doc.attendees,
                     pre_approval=doc.pre_approval, has_goods_list=doc.has_goods_list)


def _employee(doc: EmployeeDoc, org: Org, policy: Policy) -> Employee:
    if doc.emp_no and doc.grade is None:
        try:
            employee = org.employee(doc.emp_no)
        except OrgError as exc:
            raise ClaimInputError(f"employee: {exc}") from None
    elif doc.grade:
        dept = org.departments.get(doc.department or "")
        employee = Employee(emp_no=doc.emp_no, grade=doc.grade, department=doc.department,
                            cost_center=doc.cost_center or (dept.cost_center if dept else None), name=doc.name)
    else:
        raise ClaimInputError("employee: give 'emp_no' (from the master data) or an inline 'grade'")
    if policy.band_of(employee.grade) is None:
        raise ClaimInputError(f"employee: grade {employee.grade!r} is not in the policy "
                              f"(known: {', '.join(policy.grades)})")
    return employee


def _trip(doc: TripDoc | None) -> TravelRequest | None:
    if doc is None:
        return None
    try:
        return TravelRequest(start=doc.start, end=doc.end, cities=tuple(doc.cities), purpose=doc.purpose,
                             approved=doc.approved, request_no=doc.request_no, origin=doc.origin,
                             stops=tuple(Stop(s.city, s.start, s.end) for s in doc.stops), rail_hours=doc.rail_hours,
                             host_meal_days=doc.host_meal_days, host_transport_days=doc.host_transport_days)
    except ValueError as exc:
        raise ClaimInputError(f"trip: {exc}") from None


def parse_claim(data: Any, policy: Policy, org: Org,
                today: date | None = None) -> tuple[ClaimInput, InMemoryHistory, list[BudgetState]]:
    if not isinstance(data, dict):
        raise ClaimInputError("the claim must be a JSON object")
    try:
        doc = ClaimDoc.model_validate(data)
    except ValidationError as exc:
        raise ClaimInputError(_validation_message(exc)) from None
    employee = _employee(doc.employee, org, policy)
    lines = [_line(where, raw) for where, raw in _flatten(doc.invoices)]
    claim = ClaimInput(employee=employee, lines=lines, submitted_on=doc.submitted_on or today or date.today(),
                       trip=_trip(doc.trip), project=doc.project, claim_no=doc.claim_no)
    history = InMemoryHistory(exclude_claim=doc.claim_no)
    for n, past in enumerate(doc.history):
        for where, raw in _flatten(past.invoices):
            history.add(_invoice(f"history[{n}].{where}", raw), past.claim_no, past.employee)
    budgets = []
    for scope, code, amount in budget_lines(policy, employee, doc.project):
        usage = doc.budget_usage.get(f"{scope}:{code}", UsageDoc())
        budgets.append(BudgetState(scope, code, amount, usage.reserved, usage.consumed))
    return claim, history, budgets


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'))}"


def finding_to_json(f: Finding) -> dict[str, Any]:
    return {"rule_id": f.rule_id, "severity": f.severity.value, "invoice_key": f.invoice_key,
            "message_zh": f.message_zh, "message_en": f.message_en, "evidence": dict(f.evidence),
            "suggested_amount": _money(f.suggested_amount)}


def evaluation_to_json(ev: ClaimEvaluation, policy: Policy) -> dict[str, Any]:
    return {
        "policy": {"policy_id": policy.policy_id, "version": policy.version},
        "findings": [finding_to_json(f) for f in ev.findings],
        "route": ev.route.value,
        "route_reasons": ev.route_reasons,
        "allowances": [{"kind": a.kind, "name_zh": a.name_zh, "category": a.category, "start": a.start.isoformat(),
                        "end": a.end.isoformat(), "days": a.days, "rate": _money(a.rate), "amount": _money(a.amount),
                        "city": a.city, "region": a.region, "deducted_days": a.deducted_days}
                       for a in ev.allowances],
        "amounts": {"claimed": _money(ev.amount_claimed), "after_caps": _money(ev.amount_after_caps),
                    "allowances": _money(ev.allowance_total), "payable": _money(ev.amount_payable)},
    }


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ClaimInputError(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ClaimInputError(f"{source} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClaimInputError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None


def load_setup(policy_path: str | Path | None, org_path: str | Path | None) -> tuple[Policy, Org]:
    policy = load_policy(policy_path or DEFAULT_POLICY)
    org_file = org_path or master_data_path(policy)
    if org_file is None:
        raise PolicyError("no master data: the policy names no 'master_data' file and --org was not given")
    org = load_org(org_file)
    unknown = sorted({e.grade for e in org.employees.values()} - set(policy.grades))
    if unknown:
        raise PolicyError(f"{org_file}: employee grade(s) {', '.join(unknown)} are not in the policy's 'grades' "
                          "(rules R9, R10)")
    return policy, org


def run_check(claim_source: str, policy_path: str | Path | None = None, org_path: str | Path | None = None,
              today: date | None = None) -> dict[str, Any]:
    policy, org = load_setup(policy_path, org_path)
    claim, history, budgets = parse_claim(_read_json(claim_source), policy, org, today)
    return evaluation_to_json(evaluate_claim(claim, policy, org.company, history, budgets), policy)


def _print_human(result: dict[str, Any], out: TextIO) -> None:
    amounts = result["amounts"]
    print(f"route: {result['route']}" + (f"  ({', '.join(result['route_reasons'])})"
                                         if result["route_reasons"] else ""), file=out)
    print(f"claimed {amounts['claimed']}  after caps {amounts['after_caps']}  allowances {amounts['allowances']}  "
          f"payable {amounts['payable']}", file=out)
    for f in result["findings"]:
        suggested = f"  -> {f['suggested_amount']}" if f["suggested_amount"] else ""
        print(f"  [{f['severity']}] {f['rule_id']} {f['invoice_key'] or ''}: {f['message_zh']}{suggested}", file=out)
    for a in result["allowances"]:
        print(f"  allowance {a['name_zh']} {a['start']}..{a['end']} {a['days']} × {a['rate']} = {a['amount']}",
              file=out)


def check_command(claim: str, policy: str | None = None, org: str | None = None, as_json: bool = True,
                  out: TextIO | None = None, err: TextIO | None = None, today: date | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        result = run_check(claim, policy, org, today)
    except (ClaimInputError, PolicyError, OrgError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    if as_json:
        print(json.dumps(result, ensure_ascii=False), file=out)
    else:
        _print_human(result, out)
    return 0


__all__: Sequence[str] = ["DEFAULT_POLICY", "ClaimInputError", "check_command", "evaluation_to_json",
                          "finding_to_json", "load_setup", "parse_claim", "run_check"]
