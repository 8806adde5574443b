"""Finance corrects the category of an invoice line; each correction is kept as a labelled training example.

Contract (each function takes an open ``Session``; ``correct_line`` commits):
* ``invoice_lines(session, invoice_id)``: the invoice's lines with their categories (labelled now if missing).
* ``correct_line(session, invoice_id, line_no, category, actor, reason=None) -> CorrectionResult``: checks the code
  against the taxonomy (a category no invoice carries, ``travel.allowance``, is refused), stores a
  ``CategoryCorrection`` (seller, item text, kind, line amount, trip context, the label, who and when, and the
  previous category, confidence, source and model version), sets the line to the label (``source="manual"``,
  confidence 1, not abstained) and, while the invoice's claim has not gone to the OA (not pending approval, not
  final), rebuilds that claim's lines and notes the change in its audit log. Confirming the current category is
  a correction too: it is a labelled example all the same.
* ``list_corrections(session, after_id=0, limit=500)``: corrections in the order they were made.
* ``labelled_examples(session) -> list[LabelledExample]``: what retraining learns from: the latest correction of
  each invoice line (an earlier one that finance overrode is not taught).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from api import attribution
from api.columns import utcnow
from api.errors import InvalidRequest, NotFound
from api.tables import AuditLog, CategoryCorrection, Claim, InvoiceLine, InvoiceRecord
from models.corrections import LabelledExample
from models.taxonomy import load_taxonomy
from pipeline.claim import ClaimState, is_terminal


@dataclass
class CorrectionResult:
    correction: CategoryCorrection
    line: InvoiceLine
    claim_id: int | None
    claim_updated: bool


def _record(session: Session, invoice_id: int) -> InvoiceRecord:
    record = session.get(InvoiceRecord, invoice_id)
    if record is None:
        raise NotFound(f"no invoice {invoice_id}")
    return record


def invoice_lines(session: Session, invoice_id: int) -> list[InvoiceLine]:
    lines = attribution.ensure_lines(session, _record(session, invoice_id))
    session.commit()
    return lines


def _check_category(code: str) -> None:
    taxonomy = load_taxonomy()
    if code not in taxonomy.codes:
        raise InvalidRequest(f"unknown expense category {code!r}; known: {', '.join(taxonomy.codes)}")
    if code not in taxonomy.model_codes:
        raise InvalidRequest(f"{code!r} is computed, not carried by an invoice line")


def _editable(claim: Claim) -> bool:
    """A claim whose lines may still change: not final, and not yet handed to the OA."""
    return not is_terminal(claim.state) and claim.state != ClaimState.PENDING_APPROVAL


def correct_line(session: Session, invoice_id: int, line_no: int, category: str, actor: str,
                 reason: str | None = None) -> CorrectionResult:
    _check_category(category)
    if not actor.strip():
        raise InvalidRequest("a correction needs the actor who made it")
    record = _record(session, invoice_id)
    lines = {line.line_no: line for line in attribution.ensure_lines(session, record)}
    line = lines.get(line_no)
    if line is None:
        raise NotFound(f"invoice {invoice_id} has no line {line_no} (it has {len(lines)})")
    claim = session.get(Claim, record.claim_id) if record.claim_id is not None else None
    trip = attribution.claim_trip(claim) if claim is not None else None
    correction = CategoryCorrection(
        invoice_id=invoice_id, line_no=line_no, seller_name=record.data.get("fields", {}).get("seller_name"),
        item_text=line.name, kind=record.kind, amount=line.amount,
        in_trip=trip.contains(attribution.service_date(record)) if trip else None, label=category,
        previous_category=line.category, previous_confidence=line.confidence,
        previous_model_version=line.model_version, previous_source=line.source, actor=actor.strip(),
        reason=(reason or "").strip() or None)
    session.add(correction)
    previous = line.category
    line.category, line.confidence, line.abstained, line.source = category, 1.0, False, "manual"
    line.corrected_by, line.corrected_at = correction.actor, utcnow()
    session.flush()
    updated = False
    if claim is not None and _editable(claim):
        attribution.regroup_claim(session, claim)
        claim.updated_at = utcnow()
        session.add(AuditLog(claim_id=claim.id, from_state=claim.state, to_state=claim.state, actor=correction.actor,
                             detail=f"invoice {invoice_id} line {line_no}: category {previous} -> {category}"
                                    + (f" ({correction.reason})" if correction.reason else "")))
        updated = True
    session.commit()
    session.refresh(correction)
    session.refresh(line)
    return CorrectionResult(correction, line, claim.id if claim is not None else None, updated)


def list_corrections(session: Session, after_id: int = 0, limit: int = 500) -> list[CategoryCorrection]:
    return list(session.exec(select(CategoryCorrection).where(col(CategoryCorrection.id) > after_id)
                             .order_by(col(CategoryCorrection.id)).limit(limit)))


def labelled_examples(session: Session) -> list[LabelledExample]:
    latest: dict[tuple[int, int], CategoryCorrection] = {}
    for c in session.exec(select(CategoryCorrection).order_by(col(CategoryCorrection.id))):
        latest[(c.invoice_id, c.line_no)] = c
    return [LabelledExample(c.seller_name, (c.item_text,) if c.item_text else (), c.kind, c.amount, c.label,
                            c.in_trip, f"correction:{c.id}", c.actor, c.created_at.isoformat())
            for c in sorted(latest.values(), key=lambda c: c.id)]
