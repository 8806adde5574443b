"""The canonical 报销单 (DOMAIN §8.1) built from a stored claim: the payload every OA adapter maps from.

Contract: ``claim_document(claim, company)`` reads the claim, its employee, lines (with their invoices) and
findings, and returns plain JSON. Amounts are 2-dp strings; each line is rounded once and the totals are sums
of lines; ``amount_upper`` is recomputed from ``amount_approved``. ``amount_approved`` takes a line down to the
``suggested_amount`` of a ``reduce`` finding on it (an invoice split into lines by category is reduced once, largest
line first: ``api.attribution.approved_amounts``). There is no loan offset yet (``loan_offset`` "0.00").
Cost centre and project come from the claim (``api.costcentre``), per claim line as well as for the document; each
line carries its category's confidence, source and the model version that labelled it.
Invoice facts come from the stored extraction JSON (``pipeline.serialize`` shape), missing ones are null.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.attribution import approved_amounts
from api.tables import Claim, ClaimLine, Company, FindingRecord
from models.taxonomy import load_taxonomy
from pipeline.claim import claim_total, total_upper
from pipeline.money import fmt_amount
from pipeline.types import Severity

DOC_TOPIC = "claim.submitted"


def _finding_json(f: FindingRecord) -> dict[str, Any]:
    return {"rule_id": f.rule_id, "severity": f.severity, "message_zh": f.message_zh, "message_en": f.message_en,
            "evidence": f.evidence}


def _cap(findings: list[FindingRecord]) -> Decimal | None:
    caps = [f.suggested_amount for f in findings
            if f.severity == Severity.REDUCE.value and f.suggested_amount is not None]
    return min(caps) if caps else None


def _expense_type(code: str | None) -> dict[str, Any] | None:
    """The category as code, name and accounting code (``models/taxonomy.yaml``)."""
    if code is None:
        return None
    taxonomy = load_taxonomy()
    try:
        name = taxonomy.get(code).name_zh
    except KeyError:  # a model trained on another taxonomy version: pass the code on, let the OA map it
        return {"code": code, "name": None, "account": None}
    return {"code": code, "name": name, "account": taxonomy.account_for(code)}


def _tax_rate(fields: dict[str, Any]) -> str | None:
    rates = {item.get("tax_rate") for item in fields.get("items") or []}
    return rates.pop() if len(rates) == 1 else None


def _line_json(line: ClaimLine, findings: list[FindingRecord], approved: Decimal) -> dict[str, Any]:
    record = line.invoice
    fields = record.data.get("fields", {})
    depart = fields.get("depart_datetime")
    return {
        "line_no": line.line_no,
        "expense_type": _expense_type(line.category),
        "category_confirmed": not line.abstained,
        "category_confidence": line.confidence,
        "category_source": line.category_source,
        "model_version": line.model_version,
        "cost_center": line.cost_center,
        "project": line.project,
        "invoice": {
            "kind": record.kind,
            "business_key": record.business_key,
            "code": fields.get("invoice_code", ""),
            "number": fields.get("invoice_number"),
            "date": fields.get("issue_date"),
            "service_date": depart[:10] if depart else None,
            "seller": fields.get("seller_name"),
            "seller_tax_id": fields.get("seller_tax_id"),
            "buyer": fields.get("buyer_name"),
            "buyer_tax_id": fields.get("buyer_tax_id"),
            "file_sha256": record.file.sha256,
            "qr_text": record.data.get("qr_text"),
        },
        "amount": fmt_amount(line.amount),
        "amount_approved": fmt_amount(approved),
        "amount_ex_tax": fields.get("amount_excl_tax"),
        "tax": fields.get("tax_amount"),
        "tax_rate": _tax_rate(fields),
        "remark": fields.get("remark"),
        "findings": [_finding_json(f) for f in findings],
    }


def _doc_type(categories: list[str | None]) -> str:
    if any(c and c.startswith("travel.") for c in categories):
        return "TRAVEL"
    if categories and all(c == "entertainment" for c in categories):
        return "ENTERTAINMENT"
    return "GENERAL"


def claim_document(claim: Claim, company: Company) -> dict[str, Any]:
    employee = claim.employee
    by_invoice: dict[int | None, list[FindingRecord]] = {}
    for f in claim.findings:
        by_invoice.setdefault(f.invoice_id, []).append(f)
    caps = {invoice_id: _cap(found) for invoice_id, found in by_invoice.items() if invoice_id is not None}
    approved = approved_amounts(claim.lines, {k: v for k, v in caps.items() if v is not None})
    amount_claimed = claim_total(line.amount for line in claim.lines)
    amount_approved = claim_total(approved.values())
    loan_offset = Decimal("0.00")
    return {
        "claim_id": claim.id,
        "doc_no": claim.doc_no,
        "doc_type": _doc_type([line.category for line in claim.lines]),
        "company": {"name": company.name, "tax_id": company.tax_id},
        "applicant": {"emp_no": employee.emp_no, "name": employee.name},
        "dept": {"code": employee.department, "name": employee.department_name},
        "cost_bearing_dept": {"code": employee.department},
        "cost_center": claim.cost_center or employee.cost_center,
        "project": {"code": claim.project} if claim.project else None,
        "trip": ({"start": claim.trip_start.isoformat(), "end": claim.trip_end.isoformat()}
                 if claim.trip_start and claim.trip_end else None),
        "reason": claim.reason,
        "currency": "CNY",
        "amount_claimed": fmt_amount(amount_claimed),
        "amount_approved": fmt_amount(amount_approved),
        "loan_offset": fmt_amount(loan_offset),
        "amount_payable": fmt_amount(amount_approved - loan_offset),
        "amount_upper": total_upper(amount_approved),
        "attachment_count": len({record.file_id for record in claim.attachments}),
        "payee": {"name": employee.name},
        "lines": [_line_json(line, by_invoice.get(line.invoice_id, []), approved[line.line_no])
                  for line in claim.lines],
        "findings": [_finding_json(f) for f in by_invoice.get(None, [])],
    }
