"""Invoice builders for the policy tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.types import FieldSource, Invoice, InvoiceKind, LineItem

BUYER = "武汉市车城物流有限公司"
BUYER_TAX_ID = "914201007483062457"


def make_invoice(kind: InvoiceKind = InvoiceKind.DIGITAL_NORMAL, items=(), confidence: float = 1.0,
                 **fields) -> Invoice:
    """An invoice made out to the demo company; ``fields`` override or add (None removes a default)."""
    values = {"buyer_name": BUYER, "buyer_tax_id": BUYER_TAX_ID}
    if kind in (InvoiceKind.RAIL_E_TICKET, InvoiceKind.RAIL_PAPER_TICKET, InvoiceKind.AIR_E_ITINERARY,
                InvoiceKind.AIR_PAPER_ITINERARY, InvoiceKind.QUOTA, InvoiceKind.TAXI):
        values = {}
    values.update(fields)
    inv = Invoice(kind=kind)
    for key, value in values.items():
        if isinstance(value, str) and key in ("total_incl_tax", "amount_excl_tax", "tax_amount"):
            value = Decimal(value)
        inv.set(key, value, confidence, FieldSource.XML)
    for item in items:
        if isinstance(item, str):
            item = LineItem(item)
        elif isinstance(item, tuple):
            name, amount, rate, tax = item
            item = LineItem(name, Decimal(amount), rate, Decimal(tax))
        inv.items.append(item)
    return inv


def vat(number: str, total: str, day: date, items=(), seller="某餐饮有限公司", seller_tax_id="91420100MA4KXXXX1X",
        kind=InvoiceKind.DIGITAL_NORMAL, **fields) -> Invoice:
    return make_invoice(kind, items=items, invoice_number=number, total_incl_tax=total, issue_date=day,
                        seller_name=seller, seller_tax_id=seller_tax_id, **fields)


def only(findings, rule_id):
    return [f for f in findings if f.rule_id == rule_id]
