"""The company policy in the API: which policy is in force, and checking a claim against it.

* ``configure(path) -> Policy | None``: load and validate the policy file (``Settings.policy_file``); a bad file
  raises ``PolicyError`` naming the rule, so ``create_app`` refuses to start. ``None`` (no policy file): only the
  integrity rules R1/R3/R4/R5 run (``pipeline.policy.check_invoices``) and every claim goes straight to the OA.
  ``current_policy()`` is the configured one (configured from the settings on first use); ``set_policy(p)`` too.
* ``run_checks(session, claim, lock_budgets=False) -> Checked``: replaces the claim's findings with a fresh
  ``evaluate_claim`` over its invoices, with the DB-backed history (``api.history``), the claim's travel request
  and its budgets (locked ``FOR UPDATE`` when ``lock_budgets``, i.e. on submit); the evaluation (route, reasons,
  amounts, allowances) is kept in ``ClaimEvaluationRecord``.
* ``refusing(checked)``: the findings that refuse a submission outright: a block from an integrity rule
  (``REFUSING_RULES``: R1 QR mismatch, R3 duplicate, R4 amounts, R5 buyer) or from the budget. Any other block
  (a policy block: R20 without pre-approval, R6 wrong kind …) sends the claim to finance review instead.
  Without a policy every block refuses, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, col, delete

from api import budgets, history
from api.policy_tables import ClaimEvaluationRecord, TravelRequestRecord
from api.settings import get_settings
from api.tables import Claim, FindingRecord
from pipeline import policy as P
from pipeline import serialize
from pipeline.types import Classification, Severity

REFUSING_RULES = frozenset({"R1", "R3", "R4", "R5", "BUDGET"})
_REPO_ROOT = Path(__file__).resolve().parents[1]

_state: dict[str, P.Policy | None] = {}


def resolve(path: Path) -> Path:
    """A relative path is taken from the working directory, else from the project root (the samples)."""
    if path.is_absolute() or path.exists():
        return path
    return _REPO_ROOT / path


def configure(path: Path | None) -> P.Policy | None:
    policy = P.load_policy(resolve(Path(path))) if path is not None else None
    _state["policy"] = policy
    return policy


def set_policy(policy: P.Policy | None) -> None:
    _state["policy"] = policy


def current_policy() -> P.Policy | None:
    if "policy" not in _state:
        return configure(get_settings().policy_file)
    return _state["policy"]


def company_info(claim: Claim) -> P.CompanyInfo:
    company = claim.employee.company
    return P.CompanyInfo(legal_name=company.name, tax_id=company.tax_id)


def policy_employee(claim: Claim) -> P.Employee:
    e = claim.employee
    return P.Employee(emp_no=e.emp_no, grade=e.grade or "", department=e.department,
                      cost_center=claim.cost_center or e.cost_center, name=e.name)


def travel_request(record: TravelRequestRecord) -> P.TravelRequest:
    return P.TravelRequest(start=record.start, end=record.end, cities=tuple(record.cities), purpose=record.purpose,
                           approved=record.approved, request_no=f"TR{record.id}", origin=record.origin)


def _china_today() -> date:
    from api.services import CHINA_TZ  # noqa: PLC0415  (services imports this module)
    return datetime.now(CHINA_TZ).date()


def claim_input(session: Session, claim: Claim, trip: P.TravelRequest | None) -> P.ClaimInput:
    lines = []
    for r in claim.attachments:
        classification = None
        if r.category is not None:
            classification = Classification(r.category, r.category_confidence or 0.0, r.abstained,
                                             r.model_version)
        lines.append(P.ClaimLine(serialize.invoice_from_json(r.data), classification=classification))
    return P.ClaimInput(employee=policy_employee(claim), lines=lines, submitted_on=_china_today(), trip=trip,
                        project=claim.project, claim_no=claim.doc_no)


@dataclass
class Checked:
    findings: list[FindingRecord]
    evaluation: P.ClaimEvaluation | None = None
    accounts: budgets.Accounts = field(default_factory=list)

    @property
    def to_review(self) -> bool:
        return self.evaluation is not None and self.evaluation.route is P.Route.FINANCE_REVIEW


def evaluation_record(session: Session, claim_id: int) -> ClaimEvaluationRecord | None:
    return session.get(ClaimEvaluationRecord, claim_id)


def _save(session: Session, claim: Claim, ev: P.ClaimEvaluation) -> None:
    record = session.get(ClaimEvaluationRecord, claim.id) or ClaimEvaluationRecord(claim_id=claim.id)
    record.route, record.route_reasons = ev.route.value, list(ev.route_reasons)
    record.amount_claimed, record.amount_after_caps = ev.amount_claimed, ev.amount_after_caps
    record.allowance_total = ev.allowance_total
    record.allowances = [{"kind": a.kind, "start": a.start.isoformat(), "end": a.end.isoformat(), "days": a.days,
                          "rate": str(a.rate), "amount": str(a.amount), "city": a.city, "region": a.region,
                          "deducted_days": a.deducted_days} for a in ev.allowances]
    session.add(record)


def plain(value):
    """JSON-safe evidence: money as 2-dp strings, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def run_checks(session: Session, claim: Claim, *, lock_budgets: bool = False) -> Checked:
    session.exec(delete(FindingRecord).where(col(FindingRecord.claim_id) == claim.id))
    records = list(claim.attachments)
    history.record_facts(session, records)
    db_history = history.DbHistory(session, claim)
    policy = current_policy()
    checked = Checked(findings=[])
    if policy is None:
        found = P.check_invoices([serialize.invoice_from_json(r.data) for r in records], company_info(claim),
                                 db_history.claim_holding)
    else:
        saved = session.get(ClaimEvaluationRecord, claim.id)
        trip_record = session.get(TravelRequestRecord, saved.trip_request_id) if saved and saved.trip_request_id \
            else None
        checked.accounts = budgets.lock_accounts(session, policy, policy_employee(claim), claim.project,
                                                 for_update=lock_budgets)
        ev = P.evaluate_claim(claim_input(session, claim, travel_request(trip_record) if trip_record else None),
                              policy, company_info(claim), db_history, [s for _, s in checked.accounts])
        checked.evaluation, found = ev, ev.findings
        _save(session, claim, ev)
    record_by_key = {}
    for r in records:
        record_by_key.setdefault(r.business_key, r)
    for f in found:
        record = record_by_key.get(f.invoice_key) if f.invoice_key else None
        checked.findings.append(FindingRecord(
            claim_id=claim.id, invoice_id=record.id if record else None, rule_id=f.rule_id,
            severity=f.severity.value, message_zh=f.message_zh, message_en=f.message_en,
            evidence=plain(dict(f.evidence)), suggested_amount=f.suggested_amount))
    session.add_all(checked.findings)
    session.flush()
    session.expire(claim, ["findings"])
    return checked


def refusing(checked: Checked) -> list[FindingRecord]:
    blocks = [f for f in checked.findings if f.severity == Severity.BLOCK.value]
    if checked.evaluation is None:
        return blocks
    return [f for f in blocks if f.rule_id in REFUSING_RULES]
