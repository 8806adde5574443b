"""Invoices from the structured data OFD and XML readers put in ``ReadResult.structured`` (no text parsing).

Contract: ``invoices_from_structured(read) -> list[Invoice]`` returns ``[]`` unless ``read.structured`` carries a
``structured_format`` from ``pipeline.readers.einvoice_xml.FORMATS`` and at least one of invoice_number /
total_incl_tax / amount_excl_tax (so other readers' hint keys, e.g. the PDF's, never short-cut text extraction).
Otherwise it returns one ``Invoice`` (page 0) whose fields have source ``OFD`` (format ``"ofd"``, the XML attached
inside an OFD included) or ``XML`` (the ``xml.*`` formats) and confidence 1.0:
* identifiers (``invoice_code``, ``invoice_number``, ``check_code``, ``machine_no``) without whitespace; tax IDs
  also upper-cased; ``issue_date`` a ``date`` (``2020年07月23日``, ``2024-05-14[ 10:20:30]``, ``20240514``);
  ``depart_datetime`` a ``datetime``; money (``amount_excl_tax``, ``tax_amount``, ``total_incl_tax``) a ``Decimal``
  via ``pipeline.money.parse_amount``; other text fields normalised (``pipeline.text.normalize``). A value that
  cannot be converted is left out.
* ``items``: ``LineItem(name, amount, tax_rate, tax_amount)``; rate via ``parse_rate``; a 免税/不征税 line whose tax
  is printed ``***`` gets tax 0.00.
* ``qr_text`` (the legacy XML ``GraphCode``) is kept in ``inv.qr_text``; when it parses
  (``parse_invoice_qr``), fields missing from the file are filled from it with source ``QR``.
* kind: rail XBRL → RAIL_E_TICKET; else the 数电 ``GeneralOrSpecialVAT`` label with a 20-digit number; else the QR
  type; else the title; else the 发票代码; else DIGITAL_NORMAL for a bare 20-digit number; else UNKNOWN. A code
  that shows a narrower kind (通行费, 卷式) refines a broader one.
* issues: ``source_mismatch.<field>`` when the OFD's sources disagree (tamper evidence), ``red_letter`` for 红字
  数电 invoices; then ``pipeline.validate.validate_invoice`` runs (idempotent).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from pipeline.codes import is_digital_number, kind_from_code, kind_from_title
from pipeline.money import parse_amount, parse_rate
from pipeline.qr_payload import QrPayload, parse_invoice_qr
from pipeline.readers.einvoice_xml import FORMATS, STRUCTURED_FORMAT_KEY
from pipeline.text import normalize
from pipeline.types import FieldSource, Invoice, InvoiceKind, LineItem, ReadResult, ValidationIssue
from pipeline.validate import validate_invoice

CONFIDENCE = 1.0
MONEY_KEYS = ("amount_excl_tax", "tax_amount", "total_incl_tax")
ID_KEYS = ("invoice_code", "invoice_number", "check_code", "machine_no", "e_ticket_no", "train_no")
TAX_ID_KEYS = ("buyer_tax_id", "seller_tax_id")
TEXT_KEYS = (
    "title", "buyer_name", "buyer_addr_tel", "buyer_bank", "seller_name", "seller_addr_tel", "seller_bank",
    "total_upper", "remark", "drawer", "payee", "reviewer", "from_station", "to_station", "seat_class", "seat_no",
    "passenger_name", "business_type",
)
_IDENTIFYING = ("invoice_number", "total_incl_tax", "amount_excl_tax")
_REFINES = {InvoiceKind.VAT_E_NORMAL: {InvoiceKind.VAT_E_TOLL}, InvoiceKind.VAT_NORMAL: {InvoiceKind.VAT_ROLL}}
_DATE = re.compile(r"(\d{4})\s*[年\-./]?\s*(\d{1,2})\s*[月\-./]?\s*(\d{1,2})\s*日?")
_DATE_TIME = re.compile(_DATE.pattern + r"\s*T?\s*(\d{1,2})\s*[:：]\s*(\d{2})")
_ITEM_KEY = re.compile(r"^items\.(\d+)\.(\w+)$")
_NO_TAX = ("免税", "不征税")


def invoices_from_structured(read: ReadResult) -> list[Invoice]:
    data = read.structured
    fmt = data.get(STRUCTURED_FORMAT_KEY)
    if fmt not in FORMATS or not any(data.get(k) for k in _IDENTIFYING):
        return []
    source = FieldSource.OFD if fmt == "ofd" else FieldSource.XML
    inv = Invoice(kind=InvoiceKind.UNKNOWN, page=0)
    _set_fields(inv, data, source)
    inv.items = _items(data)
    payload = _qr(inv, data.get("qr_text"))
    inv.kind = _kind(fmt, inv, data, payload)
    _source_issues(inv, data)
    validate_invoice(inv)
    return [inv]


def parse_date(text: str | None) -> date | None:
    """``'2020年07月23日'`` / ``'2024-05-14 10:20:30'`` / ``'20240514'`` → ``date``; ``None`` otherwise."""
    m = _DATE.search(normalize(text)) if text else None
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_datetime(text: str | None) -> datetime | None:
    m = _DATE_TIME.search(normalize(text)) if text else None
    if m is None:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def _set_fields(inv: Invoice, data: dict[str, str], source: FieldSource) -> None:
    def put(key: str, value: object) -> None:
        inv.set(key, value, CONFIDENCE, source, page=0)

    for key in ID_KEYS:
        if data.get(key):
            put(key, "".join(normalize(data[key]).split()))
    for key in TAX_ID_KEYS:
        if data.get(key):
            put(key, "".join(normalize(data[key]).split()).upper())
    for key in TEXT_KEYS:
        if data.get(key):
            put(key, normalize(data[key]))
    for key in MONEY_KEYS:
        put(key, parse_amount(data.get(key)))
    put("issue_date", parse_date(data.get("issue_date")))
    put("depart_datetime", parse_datetime(data.get("depart_datetime")))


def _items(data: dict[str, str]) -> list[LineItem]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        m = _ITEM_KEY.match(key)
        if m:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
    items = []
    for _, row in sorted(rows.items()):
        rate = parse_rate(row.get("tax_rate"))
        tax = parse_amount(row.get("tax_amount"))
        if tax is None and rate in _NO_TAX:
            tax = Decimal("0.00")
        items.append(LineItem(name=normalize(row.get("name", "")), amount=parse_amount(row.get("amount")),
                              tax_rate=rate, tax_amount=tax))
    return items


def _qr(inv: Invoice, text: str | None) -> QrPayload | None:
    if not text:
        return None
    inv.qr_text = text
    payload = parse_invoice_qr(text)
    if payload is None:
        return None

    def fill(key: str, value: object) -> None:
        if key not in inv.fields:
            inv.set(key, value, CONFIDENCE, FieldSource.QR, page=0)

    fill("invoice_number", payload.invoice_number)
    fill("invoice_code", payload.invoice_code)
    fill("issue_date", payload.issue_date)
    fill("check_code", payload.check_code)
    fill("total_incl_tax" if payload.amount_is_tax_inclusive else "amount_excl_tax", payload.amount)
    return payload


def _kind(fmt: str, inv: Invoice, data: dict[str, str], payload: QrPayload | None) -> InvoiceKind:
    if fmt == "xml.xbrl_rail":
        return InvoiceKind.RAIL_E_TICKET
    number = inv.get("invoice_number") or ""
    code = inv.get("invoice_code")
    code_kind = kind_from_code(code) if code else None
    label = data.get("vat_label")
    kind: InvoiceKind | None = None
    if label and is_digital_number(number):
        kind = InvoiceKind.DIGITAL_SPECIAL if "专用" in label else InvoiceKind.DIGITAL_NORMAL
    if kind is None and payload is not None:
        kind = payload.kind
    if kind is None and inv.get("title"):
        kind = kind_from_title(inv.get("title"))
    if kind is None:
        kind = code_kind
    if kind is None and is_digital_number(number):
        kind = InvoiceKind.DIGITAL_NORMAL
    if kind is None:
        return InvoiceKind.UNKNOWN
    return code_kind if code_kind in _REFINES.get(kind, ()) else kind


def _source_issues(inv: Invoice, data: dict[str, str]) -> None:
    for key, value in data.items():
        if key.startswith("mismatch."):
            name = key.partition(".")[2]
            inv.issues.append(ValidationIssue(
                code=f"source_mismatch.{name}",
                message=f"the file's own data disagree on {name} ({value}): it may have been altered",
                evidence={"field": name, "values": value}))
    if data.get("red_letter") == "true":
        inv.issues.append(ValidationIssue(
            code="red_letter", message="红字发票 (red-letter credit invoice): it cancels an invoice and is not "
                                       "reimbursable", evidence={"invoice_number": inv.get("invoice_number") or ""}))


__all__ = ["invoices_from_structured", "parse_date", "parse_datetime"]
