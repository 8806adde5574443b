"""Invoice QR payloads on a page, and how they override what the page prints (DOMAIN §2.4).

Contract:
* ``invoice_payloads(codes)`` parses the decoded QR texts of one page (``pipeline.validate.parse_qr``) and keeps
  the distinct invoice payloads, in the given order; non-invoice QRs (the rail ticket's binary code, URLs) are
  dropped.
* ``apply_qr(inv, payload, code)`` writes invoice_number, invoice_code, issue_date, check_code and the amount the
  QR carries (``total_incl_tax`` for 数电 types, ``amount_excl_tax`` for legacy) with source ``QR`` and confidence
  1.0, and sets ``inv.qr_text``. A printed number, code, date or amount that disagrees becomes a
  ``ValidationIssue`` ``qr_mismatch.<field>``; the QR value wins (and a ``code_region_repaired`` guess is dropped).
"""

from __future__ import annotations

from pipeline.qr_payload import QrPayload
from pipeline.types import FieldSource, Invoice, QrCode
from pipeline.validate import parse_qr, qr_amount_field, qr_mismatch

COMPARED = ("invoice_number", "invoice_code", "issue_date")


def invoice_payloads(codes: list[QrCode]) -> list[tuple[QrCode, QrPayload]]:
    out: list[tuple[QrCode, QrPayload]] = []
    for code in codes:
        payload = parse_qr(code.text)
        if payload is None:
            continue
        if any(p.invoice_number == payload.invoice_number and p.invoice_code == payload.invoice_code
               for _, p in out):
            continue
        out.append((code, payload))
    return out


def qr_values(payload: QrPayload) -> dict[str, object]:
    values = {"invoice_number": payload.invoice_number, "invoice_code": payload.invoice_code,
              "issue_date": payload.issue_date, "check_code": payload.check_code,
              qr_amount_field(payload): payload.amount}
    return {k: v for k, v in values.items() if v is not None}


def apply_qr(inv: Invoice, payload: QrPayload, code: QrCode | None = None) -> None:
    inv.qr_text = payload.raw
    amount_field = qr_amount_field(payload)
    if payload.invoice_code:
        inv.issues = [i for i in inv.issues if i.code != "code_region_repaired"]
    for key, value in qr_values(payload).items():
        current = inv.fields.get(key)
        if current is not None and current.value != value and (key in COMPARED or key == amount_field):
            issue = qr_mismatch(key, value, current.value, current.source)
            if all(i.code != issue.code for i in inv.issues):
                inv.issues.append(issue)
        inv.set(key, value, 1.0, FieldSource.QR, code.box if code else None, code.page if code else None)


__all__ = ["apply_qr", "invoice_payloads", "qr_values"]
