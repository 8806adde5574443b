"""Line-level cost attribution: each invoice item line gets its category, and claim lines are built from them.

Contract:
* ``label_lines(model, inv) -> list[InvoiceLine]``: one row per item line (one for an invoice without item lines)
  with the model's category, confidence, abstention, source and model version (``CategoryModel.classify_lines``,
  no trip context: that belongs to the claim). Amounts are the tax-inclusive share of the invoice total
  (``line_amounts``): the printed line amounts (amount + tax) when they add up to the total, else the total split
  in proportion to them, rounded to the fen with the remainder on the largest line, so lines always sum to the total.
* ``ensure_lines(session, record)``: the stored lines of an invoice, labelling them now (current model) if it has
  none (an invoice stored before line-level attribution existed).
* ``claim_lines(session, records, trip, cost) -> list[ClaimLine]``: per invoice, its lines grouped by category in
  order of first appearance, one claim line per group (a hotel bill with a breakfast line gives two). Inside the
  trip (``TripContext.contains`` the invoice's service date: departure, else issue date) a local ride becomes
  ``travel.transport``. A group carries the lowest confidence of its lines, whether any abstained, the model version
  and ``manual`` when finance corrected a line (else ``model``, or ``rule`` when rules decided all of them), plus the
  claim's cost centre and project. Zero-amount groups are dropped when the invoice has another group.
* ``regroup_claim(session, claim)``: rebuild a claim's lines from its invoices' current lines (after a correction);
  totals are unchanged because each invoice's lines still sum to its total. No commit.
* ``approved_amounts(lines, caps)``: per claim line, the amount after each invoice's lowest ``reduce`` cap; the
  reduction of an invoice is taken from its largest line first (its lines are split by category).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, delete, select

from api.costcentre import CostAssignment, TripContext
from api.tables import Claim, ClaimLine, InvoiceLine, InvoiceRecord
from models import category
from models.rules import apply_trip
from pipeline import serialize
from pipeline.claim import claim_total, total_upper
from pipeline.types import Invoice, LineItem

ZERO = Decimal("0.00")
FEN = Decimal("0.01")


def _gross(item: LineItem) -> Decimal | None:
    if item.amount is None:
        return None
    return item.amount + (item.tax_amount or ZERO)


def line_amounts(total: Decimal | None, items: Sequence[LineItem]) -> list[Decimal | None]:
    if not items:
        return [total]
    grosses = [_gross(i) for i in items]
    if total is None:
        return grosses
    if all(g is not None for g in grosses) and sum(grosses) == total:  # type: ignore[arg-type]
        return [g.quantize(FEN) for g in grosses]  # type: ignore[union-attr]
    known = [g if g is not None else ZERO for g in grosses]
    base = sum(known)
    if base == 0:
        return [total] + [ZERO] * (len(items) - 1)
    shares = [(total * k / base).quantize(FEN, rounding=ROUND_HALF_UP) for k in known]
    largest = max(range(len(shares)), key=lambda i: abs(known[i]))
    shares[largest] += total - sum(shares)
    return shares


def _classify_lines(model: Any, inv: Invoice, items: list[LineItem]) -> list[Any]:
    seller = inv.get("seller_name")
    if hasattr(model, "classify_lines"):
        return model.classify_lines(seller, items, kind=inv.kind, amount=inv.total)
    # A classifier with only the invoice-level ``classify`` (a stand-in): every line gets the invoice's result.
    return [model.classify(seller, [i.name for i in items], kind=inv.kind, amount=inv.total)] * max(1, len(items))


def label_lines(model: Any, inv: Invoice) -> list[InvoiceLine]:
    items = list(inv.items)
    results = _classify_lines(model, inv, items)
    amounts = line_amounts(inv.total, items)
    names = [i.name for i in items] or [""]
    return [InvoiceLine(line_no=n, name=name, amount=amount, category=c.category, confidence=c.confidence,
                        abstained=c.abstained, model_version=c.model_version, source=c.source)
            for n, (name, amount, c) in enumerate(zip(names, amounts, results, strict=True), start=1)]


def ensure_lines(session: Session, record: InvoiceRecord) -> list[InvoiceLine]:
    lines = list(session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == record.id)
                              .order_by(col(InvoiceLine.line_no))))
    if lines:
        return lines
    lines = label_lines(category.load_model(), serialize.invoice_from_json(record.data))
    for line in lines:
        line.invoice_id = record.id
    session.add_all(lines)
    session.flush()
    return lines


def service_date(record: InvoiceRecord) -> date | None:
    fields: Mapping[str, Any] = record.data.get("fields", {})
    for key, parse in (("depart_datetime", lambda t: datetime.strptime(t, "%Y-%m-%d %H:%M").date()),
                       ("issue_date", date.fromisoformat)):
        text = fields.get(key)
        if text:
            try:
                return parse(text)
            except ValueError:
                continue
    return None


def _source(lines: Iterable[InvoiceLine]) -> str:
    sources = {line.source for line in lines}
    if "manual" in sources:
        return "manual"
    return "rule" if sources == {"rule"} else "model"


def _invoice_claim_lines(record: InvoiceRecord, lines: list[InvoiceLine], in_trip: bool | None,
                         cost: CostAssignment) -> list[ClaimLine]:
    groups: dict[str | None, list[InvoiceLine]] = {}
    for line in lines:
        code = apply_trip(line.category, in_trip) if line.category else None
        groups.setdefault(code, []).append(line)
    total = record.total if record.total is not None else ZERO
    amounts = {code: sum((g.amount or ZERO for g in group), ZERO) if record.total is not None else ZERO
               for code, group in groups.items()}
    first = next(iter(amounts))
    amounts[first] += total - sum(amounts.values())  # lines stored by an older version may not add up
    if len(amounts) > 1:
        nonzero = {code: a for code, a in amounts.items() if a != 0}
        amounts = nonzero or {first: amounts[first]}
    out = []
    for code, amount in amounts.items():
        group = groups[code]
        confidences = [g.confidence for g in group if g.confidence is not None]
        out.append(ClaimLine(
            line_no=0, invoice_id=record.id, amount=amount, category=code,
            confidence=min(confidences) if confidences else None,
            abstained=any(g.abstained for g in group if g.source != "manual"),
            model_version=next((g.model_version for g in group if g.model_version), None),
            category_source=_source(group), cost_center=cost.cost_center, project=cost.project))
    return out


def claim_lines(session: Session, records: Sequence[InvoiceRecord], trip: TripContext | None,
                cost: CostAssignment) -> list[ClaimLine]:
    out: list[ClaimLine] = []
    for record in records:
        in_trip = trip.contains(service_date(record)) if trip is not None else None
        out.extend(_invoice_claim_lines(record, ensure_lines(session, record), in_trip, cost))
    for n, line in enumerate(out, start=1):
        line.line_no = n
    return out


def claim_trip(claim: Claim) -> TripContext | None:
    if claim.trip_start is None and claim.trip_end is None:
        return None
    return TripContext(claim.trip_start, claim.trip_end)


def regroup_claim(session: Session, claim: Claim) -> None:
    order: dict[int, int] = {}
    for line in claim.lines:
        order.setdefault(line.invoice_id, line.line_no)
    records = sorted((r for r in claim.attachments if r.id in order), key=lambda r: order[r.id])
    cost = CostAssignment(claim.cost_center, claim.cost_center_source, claim.project, None, claim.project_source)
    new_lines = claim_lines(session, records, claim_trip(claim), cost)
    session.exec(delete(ClaimLine).where(col(ClaimLine.claim_id) == claim.id))
    session.flush()
    for line in new_lines:
        line.claim_id = claim.id
    session.add_all(new_lines)
    claim.total = claim_total(line.amount for line in new_lines)
    claim.total_upper = total_upper(claim.total)
    session.flush()
    session.expire(claim, ["lines"])


def approved_amounts(lines: Sequence[ClaimLine], caps: Mapping[int | None, Decimal]) -> dict[int, Decimal]:
    """``caps``: invoice id -> the lowest suggested amount of its ``reduce`` findings."""
    approved = {line.line_no: line.amount for line in lines}
    by_invoice: dict[int, list[ClaimLine]] = {}
    for line in lines:
        by_invoice.setdefault(line.invoice_id, []).append(line)
    for invoice_id, group in by_invoice.items():
        cap = caps.get(invoice_id)
        if cap is None:
            continue
        excess = sum((line.amount for line in group), ZERO) - cap
        for line in sorted(group, key=lambda x: x.amount, reverse=True):
            if excess <= 0:
                break
            cut = min(excess, approved[line.line_no])
            approved[line.line_no] -= cut
            excess -= cut
    return approved
