"""The database-backed ``InvoiceHistory`` (``pipeline.policy.history``) the API checks claims against.

``record_facts(session, records)`` writes, once per invoice put on a claim, its ``InvoiceKey`` rows (every
``facts.duplicate_keys`` key plus the business key) and its ``InvoiceFact`` row. ``DbHistory(session, claim)``
answers the three history questions for that claim with indexed queries only (never a scan of all invoices):

* ``claim_holding(key)``: the invoice ledger first (claims past draft hold their keys there, unique per key), then
  an *older* live draft holding an invoice under the key (``invoice_key`` index). Only older drafts count, so of
  two drafts carrying the same invoice the first one created may go ahead and the other is blocked (R3).
* ``invoices_from_seller`` / ``invoices_near_number``: invoices on other live claims (not rejected or withdrawn),
  over the ``invoice_fact`` indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlmodel import Session, col, select

from api.policy_tables import InvoiceFact, InvoiceKey
from api.tables import Claim, Employee, InvoiceLedger, InvoiceRecord
from pipeline import serialize
from pipeline.claim import RELEASED_STATES
from pipeline.policy.facts import duplicate_keys, normalize_id, seller_ref, service_date
from pipeline.policy.history import PastInvoice
from pipeline.types import Invoice, InvoiceKind


def invoice_keys(record: InvoiceRecord, inv: Invoice | None = None) -> list[str]:
    """Every key the invoice is known by: its duplicate keys, and the business key the API stored."""
    inv = inv or serialize.invoice_from_json(record.data)
    keys = list(duplicate_keys(inv))
    if record.business_key and record.business_key not in keys:
        keys.append(record.business_key)
    return keys


def record_facts(session: Session, records: Iterable[InvoiceRecord]) -> None:
    records = list(records)
    ids = [r.id for r in records]
    have_keys = set(session.exec(select(InvoiceKey.invoice_id).where(col(InvoiceKey.invoice_id).in_(ids))))
    have_facts = set(session.exec(select(InvoiceFact.invoice_id).where(col(InvoiceFact.invoice_id).in_(ids))))
    for record in records:
        if record.id in have_keys and record.id in have_facts:
            continue
        inv = serialize.invoice_from_json(record.data)
        if record.id not in have_keys:
            session.add_all(InvoiceKey(invoice_id=record.id, key=k) for k in invoice_keys(record, inv))
        seller, day = seller_ref(inv), service_date(inv)
        if record.id not in have_facts and seller and day:
            number, code = inv.get("invoice_number"), inv.get("invoice_code")
            number = normalize_id(number) if number else None
            session.add(InvoiceFact(invoice_id=record.id, seller_ref=seller, service_date=day, number=number,
                                    code=normalize_id(code) if code else None,
                                    width=len(number) if number and number.isdigit() else None,
                                    amount=inv.total, kind=inv.kind.value))
    session.flush()


class DbHistory:
    include_drafts = True  # whether claim_holding counts older drafts (the ledger always counts)

    def __init__(self, session: Session, claim: Claim) -> None:
        self.session, self.claim = session, claim

    def claim_holding(self, key: str) -> str | None:
        held = self.session.exec(
            select(Claim.doc_no).join(InvoiceLedger, col(InvoiceLedger.claim_id) == Claim.id)
            .where(InvoiceLedger.business_key == key, Claim.id != self.claim.id)).first()
        if held is not None or not self.include_drafts:
            return held
        query = (select(Claim.doc_no)
                 .join(InvoiceRecord, col(InvoiceRecord.claim_id) == Claim.id)
                 .join(InvoiceKey, col(InvoiceKey.invoice_id) == InvoiceRecord.id)
                 .where(InvoiceKey.key == key, col(Claim.state).not_in(RELEASED_STATES),
                        col(Claim.id) < self.claim.id))
        return self.session.exec(query.limit(1)).first()

    def _past(self):
        return (select(InvoiceFact, Claim.doc_no, Employee.emp_no)
                .join(InvoiceRecord, col(InvoiceRecord.id) == InvoiceFact.invoice_id)
                .join(Claim, col(Claim.id) == InvoiceRecord.claim_id)
                .join(Employee, col(Employee.id) == Claim.employee_id)
                .where(Claim.id != self.claim.id, col(Claim.state).not_in(RELEASED_STATES)))

    @staticmethod
    def _rows(rows) -> list[PastInvoice]:
        return [PastInvoice(claim_no=doc_no, employee=emp_no, seller=f.seller_ref, service_date=f.service_date,
                            amount=f.amount, number=f.number, code=f.code, kind=InvoiceKind(f.kind))
                for f, doc_no, emp_no in rows]

    def invoices_from_seller(self, seller: str, since: date, until: date | None = None) -> Sequence[PastInvoice]:
        query = self._past().where(InvoiceFact.seller_ref == seller, col(InvoiceFact.service_date) >= since)
        if until is not None:
            query = query.where(col(InvoiceFact.service_date) <= until)
        return self._rows(self.session.exec(query.order_by(col(InvoiceFact.service_date), col(InvoiceFact.invoice_id))))

    def invoices_near_number(self, seller: str, code: str | None, number: str,
                             max_gap: int) -> Sequence[PastInvoice]:
        if not number.isdigit():
            return ()
        width, value = len(number), int(number)
        low, high = str(max(value - max_gap, 0)).zfill(width), str(value + max_gap).zfill(width)
        if len(high) > width:
            high = "9" * width
        query = self._past().where(InvoiceFact.seller_ref == seller, InvoiceFact.width == width,
                                   col(InvoiceFact.number) >= low, col(InvoiceFact.number) <= high,
                                   InvoiceFact.number != number)
        query = query.where(col(InvoiceFact.code).is_(None) if code is None else InvoiceFact.code == code)
        return self._rows(self.session.exec(query.order_by(col(InvoiceFact.number))))


__all__ = ["DbHistory", "invoice_keys", "record_facts"]
