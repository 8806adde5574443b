"""Invoice <-> JSON, in the shape of the ``reimburse extract --json`` contract.

``invoice_to_json`` gives ``{"kind", "fields", "confidence", "sources", "locations", "issues"}`` where ``fields`` holds
strings only: money as 2-dp decimal strings ("106.00"), dates as YYYY-MM-DD, date-times as "YYYY-MM-DD HH:MM",
``items`` as a list of ``{name, amount, tax_rate, tax_amount}``. A field the document does not show is absent.
``invoice_from_json`` reverses it exactly, so the database can keep the JSON and rebuild the ``Invoice``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pipeline.types import (
    Classification, Extraction, FieldSource, FieldValue, Invoice, InvoiceKind, LineItem, ValidationIssue,
)

MONEY_FIELDS = frozenset({"amount_excl_tax", "tax_amount", "total_incl_tax", "trip_total", "fare", "fuel_surcharge",
                          "caac_fund", "other_taxes", "insurance"})
DATE_FIELDS = frozenset({"issue_date", "apply_date", "period_start", "period_end", "depart_date", "flight_date"})
DATETIME_FIELDS = frozenset({"depart_datetime"})


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'))}"


def _to_text(key: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_text(key: str, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if key in MONEY_FIELDS:
        return Decimal(text)
    if key in DATETIME_FIELDS:
        return datetime.strptime(text, "%Y-%m-%d %H:%M")
    if key in DATE_FIELDS:
        return date.fromisoformat(text)
    return text


def item_to_json(item: LineItem) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item.name, "amount": _money(item.amount), "tax_rate": item.tax_rate,
                           "tax_amount": _money(item.tax_amount)}
    if item.category:
        out["category"] = item.category
    return out


def invoice_to_json(inv: Invoice, classification: Classification | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"kind": inv.kind.value}
    confidence: dict[str, float] = {}
    sources: dict[str, str] = {}
    locations: dict[str, dict[str, Any]] = {}  # where on which page each field was read
    for key, fv in inv.fields.items():
        fields[key] = _to_text(key, fv.value)
        confidence[key] = round(float(fv.confidence), 4)
        sources[key] = fv.source.value
        if fv.box is not None or fv.page is not None:
            locations[key] = {"page": fv.page, "box": None if fv.box is None else list(fv.box)}
    if inv.items:
        fields["items"] = [item_to_json(i) for i in inv.items]
    if classification is not None:
        fields["category"] = classification.category
        fields["category_confidence"] = round(float(classification.confidence), 4)
        confidence["category"] = fields["category_confidence"]
    return {
        "kind": inv.kind.value,
        "fields": fields,
        "confidence": confidence,
        "sources": sources,
        "locations": locations,
        "issues": [{"code": i.code, "message": i.message, "evidence": i.evidence} for i in inv.issues],
        "page": inv.page,
        "qr_text": inv.qr_text,
    }


def invoice_from_json(data: dict[str, Any]) -> Invoice:
    fields = data.get("fields", {})
    confidence = data.get("confidence", {})
    sources = data.get("sources", {})
    locations = data.get("locations", {})
    inv = Invoice(kind=InvoiceKind(data.get("kind", fields.get("kind", "unknown"))), page=data.get("page", 0),
                  qr_text=data.get("qr_text"))
    for key, text in fields.items():
        if key in {"kind", "items", "category", "category_confidence"}:
            continue
        source = FieldSource(sources.get(key, FieldSource.MANUAL.value))
        where = locations.get(key, {})
        box = tuple(where["box"]) if where.get("box") is not None else None
        inv.fields[key] = FieldValue(_from_text(key, text), float(confidence.get(key, 1.0)), source, box,
                                     where.get("page"))
    for raw in fields.get("items", []) or []:
        inv.items.append(LineItem(
            name=raw.get("name", ""),
            amount=None if raw.get("amount") is None else Decimal(raw["amount"]),
            tax_rate=raw.get("tax_rate"),
            tax_amount=None if raw.get("tax_amount") is None else Decimal(raw["tax_amount"]),
            category=raw.get("category"),
        ))
    for raw in data.get("issues", []) or []:
        inv.issues.append(ValidationIssue(raw["code"], raw.get("message", ""), raw.get("evidence", {})))
    return inv


def extraction_to_json(extraction: Extraction) -> dict[str, Any]:
    """A whole file's result, e.g. to carry it from an OCR worker back to the API."""
    return {"document_name": extraction.document_name, "sha256": extraction.sha256,
            "invoices": [invoice_to_json(i) for i in extraction.invoices], "error": extraction.error,
            "warnings": list(extraction.warnings), "timings": dict(extraction.timings)}


def extraction_from_json(data: dict[str, Any]) -> Extraction:
    return Extraction(document_name=data["document_name"], sha256=data.get("sha256"),
                      invoices=[invoice_from_json(i) for i in data.get("invoices", [])], error=data.get("error"),
                      warnings=list(data.get("warnings", [])), timings=dict(data.get("timings", {})))
