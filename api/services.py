"""Business operations on the database, shared by the HTTP routes, the CLI and the demo.

Each function takes an open ``Session``, does its work and commits (or raises, leaving nothing half-written):

* ``load_org(session, org)``: upsert the company and employees of an org file (``samples/org/company.yaml`` shape).
* ``upload_files(session, employee_no, files, storage_dir=)``: store each file (content-addressed under
  ``storage_dir``), extract its invoices, classify each, keep them as ``InvoiceRecord`` rows. Uploading the same
  bytes again returns the earlier result. A file that cannot be read gives an ``UploadedFile`` with ``error``.
* ``create_claim(session, employee_no, invoice_ids, reason)``: a draft claim of the employee's own free invoices,
  with lines, total, 大写 and the policy findings (``api.policy_service``: the full policy evaluation).
* ``submit_claim(session, claim_id, actor)``: re-runs the checks (the other claims may have changed); refuses with
  ``ClaimBlocked`` when a finding blocks; otherwise, in one transaction, draft -> submitted -> pending_approval,
  the audit rows, the invoice-ledger locks and the outbox message carrying the canonical 报销单.
* ``apply_oa_decision(session, decision)``: the OA's verdict. Idempotent: a repeat changes nothing; a verdict
  contradicting an earlier one is ignored and noted in the audit log.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from api import attribution, budgets, costcentre, history, policy_service, workers
from api.columns import utcnow
from api.document import DOC_TOPIC, claim_document
from api.errors import ClaimBlocked, Conflict, InvalidRequest, NotConfigured, NotFound
from api.settings import get_settings
from api.tables import (
    AuditLog, Claim, Company, Employee, FindingRecord, InvoiceLedger, InvoiceRecord, OutboxMessage,
    StoredFile,
)
from models import category
from pipeline import serialize
from pipeline.claim import ClaimState, claim_total, is_terminal, total_upper, transition
from pipeline.errors import DocumentTooLarge, PipelineError
from pipeline.ingest import ingest_bytes
from pipeline.sync.base import OaDecision
from pipeline.types import Invoice, InvoiceKind
from pipeline.yamlfile import read_yaml

ZERO = Decimal("0.00")
CHINA_TZ = timezone(timedelta(hours=8), "CST")  # no daylight saving in China, so a fixed offset is exact

# ---------------------------------------------------------------- organisation


def read_org_file(path: Path) -> dict[str, Any]:
    return read_yaml(path, "the organisation file", NotConfigured)


def load_org(session: Session, org: dict[str, Any]) -> Company:
    spec = org["company"]
    company = session.exec(select(Company).where(Company.name == spec["legal_name"])).first()
    if company is None:
        company = Company(name=spec["legal_name"], tax_id=str(spec["tax_id"]))
        session.add(company)
    company.tax_id = str(spec["tax_id"])
    session.flush()
    departments = {d["code"]: d for d in org.get("departments", [])}
    for spec in org.get("employees", []):
        employee = session.exec(select(Employee).where(Employee.emp_no == spec["emp_no"])).first()
        if employee is None:
            employee = Employee(emp_no=spec["emp_no"], name=spec["name"], department=spec["department"],
                                company_id=company.id)
            session.add(employee)
        dept = departments.get(spec["department"], {})
        employee.name, employee.department, employee.company_id = spec["name"], spec["department"], company.id
        employee.department_name = dept.get("name")
        employee.grade = spec.get("grade")
        employee.cost_center = spec.get("cost_center") or dept.get("cost_center")
    costcentre.load_org_extras(session, company, org)
    session.commit()
    session.refresh(company)
    return company


def get_employee(session: Session, emp_no: str) -> Employee:
    employee = session.exec(select(Employee).where(Employee.emp_no == emp_no)).first()
    if employee is None:
        raise NotFound(f"no employee {emp_no!r}")
    return employee


def get_claim(session: Session, claim_id: int, *, for_update: bool = False) -> Claim:
    claim = session.get(Claim, claim_id, with_for_update=for_update)
    if claim is None:
        raise NotFound(f"no claim {claim_id}")
    return claim


# ---------------------------------------------------------------- uploads


@dataclass
class UploadedFile:
    name: str
    sha256: str
    size: int
    media_type: str | None
    file: StoredFile | None = None  # None when the file was refused before storing (unsupported type)
    invoices: list[InvoiceRecord] = field(default_factory=list)
    error: str | None = None


def _store_bytes(storage_dir: Path, sha256: str, data: bytes) -> str:
    relative = Path(sha256[:2]) / sha256
    target = storage_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return relative.as_posix()


def _classify(model: Any, inv: Invoice) -> Any:
    items = [item.name for item in inv.items]
    return model.classify(inv.get("seller_name"), items, kind=inv.kind, amount=inv.total)


def upload_files(session: Session, employee_no: str, files: Sequence[tuple[str, bytes]], *,
                 storage_dir: Path | None = None, max_file_bytes: int | None = None) -> list[UploadedFile]:
    """``storage_dir`` and ``max_file_bytes`` default to the settings'; each file is committed when done."""
    settings = get_settings()
    storage_dir = settings.storage_dir if storage_dir is None else storage_dir
    max_file_bytes = settings.max_upload_bytes if max_file_bytes is None else max_file_bytes
    for name, data in files:
        if len(data) > max_file_bytes:
            raise DocumentTooLarge(f"{name} is larger than the {max_file_bytes / 2**20:g} MB upload limit")
    employee = get_employee(session, employee_no)
    model = category.load_model()
    return [_upload_one(session, employee, model, storage_dir, Path(name).name, data) for name, data in files]


def _upload_one(session: Session, employee: Employee, model: Any, storage_dir: Path, name: str,
                data: bytes) -> UploadedFile:
    sha256 = hashlib.sha256(data).hexdigest()
    result = UploadedFile(name=name, sha256=sha256, size=len(data), media_type=None)
    stored = session.exec(select(StoredFile).where(StoredFile.employee_id == employee.id,
                                                   StoredFile.sha256 == sha256)).first()
    if stored is not None and stored.invoices:  # done before; a failed file is tried again (the cause may be gone)
        result.file, result.media_type, result.invoices = stored, stored.media_type, list(stored.invoices)
        return result
    try:
        result.media_type = ingest_bytes(name, data).media_type
    except PipelineError as exc:  # empty, too large or not a document type we read: not worth keeping
        result.error = str(exc)
        return result
    extraction = workers.extract(name, data)
    if stored is None:
        stored = StoredFile(sha256=sha256, name=name, media_type=result.media_type, size=len(data),
                            path=_store_bytes(storage_dir, sha256, data), employee_id=employee.id)
        session.add(stored)
    stored.extraction_error = None if extraction.invoices else extraction.error
    for inv in extraction.invoices:
        c = _classify(model, inv)
        stored.invoices.append(InvoiceRecord(
            kind=inv.kind.value, business_key=inv.business_key, total=inv.total, category=c.category,
            category_confidence=c.confidence, abstained=c.abstained, model_version=c.model_version,
            data=serialize.invoice_to_json(inv, c), lines=attribution.label_lines(model, inv)))
    session.commit()
    session.refresh(stored)
    result.file, result.invoices, result.error = stored, list(stored.invoices), stored.extraction_error
    return result


# ---------------------------------------------------------------- claims


def _audit(session: Session, claim: Claim, from_state: ClaimState | None, to_state: ClaimState, actor: str,
           detail: str | None = None) -> None:
    session.add(AuditLog(claim_id=claim.id, from_state=from_state, to_state=to_state, actor=actor, detail=detail))


def _move(session: Session, claim: Claim, target: ClaimState, actor: str, detail: str | None = None) -> None:
    previous = claim.state
    claim.state = transition(previous, target)
    claim.updated_at = utcnow()
    _audit(session, claim, previous, target, actor, detail)


def _assign_doc_no(session: Session, claim: Claim) -> None:
    """BX + the China date + the claim id: unique without a counter that concurrent requests would race for."""
    session.add(claim)
    session.flush()
    claim.doc_no = f"BX{claim.created_at.astimezone(CHINA_TZ):%Y%m%d}{claim.id:06d}"


def _run_checks(session: Session, claim: Claim) -> list[FindingRecord]:
    """Replace the claim's findings by a fresh run of the policy rules over its invoices (``api.policy_service``)."""
    return policy_service.run_checks(session, claim).findings


def _attach(session: Session, claim: Claim, invoice_ids: Sequence[int]) -> None:
    """Put free invoices on the claim; a conditional UPDATE, so a concurrent claim cannot take them too."""
    attached = session.exec(update(InvoiceRecord)
                            .where(col(InvoiceRecord.id).in_(invoice_ids), col(InvoiceRecord.claim_id).is_(None))
                            .values(claim_id=claim.id)).rowcount
    if attached != len(invoice_ids):
        session.rollback()
        raise Conflict("an invoice was just put on another claim; reload and try again")
    session.expire(claim, ["attachments"])


def create_claim(session: Session, employee_no: str, invoice_ids: Sequence[int], reason: str, *,
                 cost_center: str | None = None, project: str | None = None, trip_start: date | None = None,
                 trip_end: date | None = None, trip_request_id: int | None = None) -> Claim:
    employee = get_employee(session, employee_no)
    trip = costcentre.trip_context(trip_start, trip_end)
    cost = costcentre.resolve(session, employee, cost_center, project, trip)
    if len(set(invoice_ids)) != len(invoice_ids):
        raise InvalidRequest("an invoice id is listed twice")
    if not reason.strip():
        raise InvalidRequest("a claim needs a reason (事由)")
    records = session.exec(select(InvoiceRecord).join(StoredFile)
                           .where(col(InvoiceRecord.id).in_(invoice_ids), StoredFile.employee_id == employee.id)).all()
    missing = sorted(set(invoice_ids) - {r.id for r in records})
    if missing:
        raise NotFound(f"no invoice {missing} uploaded by employee {employee_no}")
    taken = [r for r in records if r.claim_id is not None]
    if taken:
        raise Conflict(f"invoice {taken[0].id} is already on claim {session.get(Claim, taken[0].claim_id).doc_no}")
    records.sort(key=lambda r: invoice_ids.index(r.id))
    counted = [r for r in records if r.kind != InvoiceKind.TRIP_TABLE.value]
    if not counted:
        raise InvalidRequest("a claim needs at least one invoice that is not only a trip table (行程单)")
    # An unreadable total counts as 0.00 here; rule R4 blocks the claim until someone fixes it.
    lines = attribution.claim_lines(session, counted, trip, cost)  # one line per (invoice, category)
    total = claim_total(line.amount for line in lines)
    claim = Claim(employee_id=employee.id, doc_no=f"pending-{uuid.uuid4().hex}", reason=reason.strip(),
                  total=total, total_upper=total_upper(total), lines=lines, cost_center=cost.cost_center,
                  cost_center_source=cost.cost_center_source, project=cost.project,
                  project_source=cost.project_source, trip_start=trip_start, trip_end=trip_end)
    _assign_doc_no(session, claim)
    _attach(session, claim, invoice_ids)
    _audit(session, claim, None, ClaimState.DRAFT, employee_no, "created")
    if trip_request_id is not None:
        from api import travel  # noqa: PLC0415  (travel imports this module)
        travel.link_claim(session, claim, trip_request_id)
    _run_checks(session, claim)
    session.commit()
    session.refresh(claim)
    return claim


class _LedgerRace(Exception):
    """Another claim took one of this claim's invoice keys in the ledger after our checks ran."""


def _lock_invoices(session: Session, claim: Claim) -> None:
    """One ledger row per key of every invoice (``api.history.invoice_keys``); the unique key is the arbiter."""
    keys = {key for r in claim.attachments for key in history.invoice_keys(r)}
    session.add_all(InvoiceLedger(business_key=key, claim_id=claim.id) for key in sorted(keys))
    try:
        session.flush()
    except IntegrityError:
        raise _LedgerRace from None


def queue_for_oa(session: Session, claim: Claim, actor: str = "system",
                 detail: str = "queued for delivery to OA") -> None:
    """The outbox message carrying the canonical 报销单, and -> pending_approval; the caller commits."""
    document = claim_document(claim, claim.employee.company)
    session.add(OutboxMessage(message_id=f"msg_{uuid.uuid4().hex}", claim_id=claim.id, topic=DOC_TOPIC,
                              payload=document, idempotency_key=str(claim.id)))
    _move(session, claim, ClaimState.PENDING_APPROVAL, actor, detail)


def _refuse(session: Session, findings: Sequence[FindingRecord]) -> ClaimBlocked:
    session.commit()  # keep the refreshed findings; the claim stays a draft
    return ClaimBlocked(f"{len(findings)} blocking finding(s): " + "; ".join(
        f"{f.rule_id}: {f.message_en}" for f in findings))


def submit_claim(session: Session, claim_id: int, actor: str | None = None) -> Claim:
    """Checks, ledger, budget reservation and routing in one transaction: refused (``ClaimBlocked``) on an
    integrity or budget block; to finance review (in_review) when the evaluation routes there; else to the OA."""
    claim = get_claim(session, claim_id, for_update=True)
    actor = actor or claim.employee.emp_no
    transition(claim.state, ClaimState.SUBMITTED)  # fail before doing any work
    checked = policy_service.run_checks(session, claim, lock_budgets=True)
    refused = policy_service.refusing(checked)
    if refused:
        raise _refuse(session, refused)
    _move(session, claim, ClaimState.SUBMITTED, actor)
    try:
        _lock_invoices(session, claim)
    except _LedgerRace:  # a concurrent submission won the invoice: report it as the R3 duplicate it now is
        session.rollback()
        claim = get_claim(session, claim_id, for_update=True)
        rechecked = policy_service.refusing(policy_service.run_checks(session, claim))
        if rechecked:
            raise _refuse(session, rechecked) from None
        session.commit()
        raise ClaimBlocked("R3: an invoice on this claim was just submitted on another claim; "
                           "it cannot be reimbursed twice") from None
    if checked.evaluation is not None:
        budgets.reserve_claim(session, claim.id, checked.accounts, checked.evaluation.amount_payable)
    if checked.to_review:
        _move(session, claim, ClaimState.IN_REVIEW, "system",
              "routed to finance review: " + ", ".join(checked.evaluation.route_reasons))
    else:
        queue_for_oa(session, claim)
    session.commit()
    session.refresh(claim)
    return claim


# ---------------------------------------------------------------- OA decisions

_DECISION_STATE = {"approved": ClaimState.APPROVED, "rejected": ClaimState.REJECTED,
                   "withdrawn": ClaimState.WITHDRAWN}


def _find_claim_for(session: Session, decision: OaDecision) -> Claim:
    if decision.claim_id is not None:
        claim = get_claim(session, decision.claim_id, for_update=True)
        if decision.doc_no and decision.doc_no != claim.doc_no:
            raise Conflict(f"claim {decision.claim_id} is {claim.doc_no}, not {decision.doc_no}")
        return claim
    if not decision.doc_no and decision.oa_request_id:  # DingTalk / WeCom events name only the OA's instance
        claim = session.exec(select(Claim).where(Claim.oa_request_id == decision.oa_request_id)
                             .with_for_update()).first()
        if claim is None:
            raise NotFound(f"no claim (yet) for OA request {decision.oa_request_id}")
        return claim
    claim = session.exec(select(Claim).where(Claim.doc_no == decision.doc_no).with_for_update()).first()
    if claim is None:
        raise NotFound(f"no claim {decision.doc_no}")
    return claim


def _release_invoices(session: Session, claim: Claim) -> None:
    session.exec(delete(InvoiceLedger).where(col(InvoiceLedger.claim_id) == claim.id))
    budgets.release_claim(session, claim.id)
    for record in claim.attachments:
        record.claim_id = None


def apply_oa_decision(session: Session, decision: OaDecision, actor: str = "oa") -> tuple[Claim, bool]:
    """Apply the OA's verdict; returns the claim and whether its state changed. A status that decides nothing yet
    (``pending``) only records the OA's status and id while the claim waits; ``paid`` counts as approved and
    ``deleted`` / ``reverted`` as withdrawn (``OaDecision.claim_decision``)."""
    claim = _find_claim_for(session, decision)
    if claim.oa_request_id and decision.oa_request_id and claim.oa_request_id != decision.oa_request_id:
        raise Conflict(f"claim {claim.doc_no} belongs to OA request {claim.oa_request_id}, "
                       f"not {decision.oa_request_id}")
    if decision.claim_decision is None:
        if claim.state == ClaimState.PENDING_APPROVAL and (
                claim.oa_status != decision.decision or (decision.oa_request_id and not claim.oa_request_id)):
            claim.oa_status = decision.decision
            claim.oa_request_id = claim.oa_request_id or decision.oa_request_id
            session.commit()
        return claim, False
    target = _DECISION_STATE[decision.claim_decision]
    if claim.state == target:
        return claim, False
    if is_terminal(claim.state):
        _audit(session, claim, claim.state, claim.state, actor,
               f"ignored OA decision '{decision.decision}' arriving after '{claim.state.value}'"
               + (f": {decision.comment}" if decision.comment else ""))
        session.commit()
        return claim, False
    _move(session, claim, target, actor, decision.comment)
    claim.oa_status = decision.decision
    claim.oa_request_id = claim.oa_request_id or decision.oa_request_id
    if target == ClaimState.APPROVED:
        for row in session.exec(select(InvoiceLedger).where(InvoiceLedger.claim_id == claim.id)):
            row.state, row.updated_at = "reimbursed", utcnow()
        budgets.consume_claim(session, claim.id)
    else:
        _release_invoices(session, claim)
    session.commit()
    session.refresh(claim)
    return claim, True


def claim_audit(session: Session, claim_id: int) -> list[AuditLog]:
    get_claim(session, claim_id)
    return list(session.exec(select(AuditLog).where(AuditLog.claim_id == claim_id).order_by(col(AuditLog.id))))
