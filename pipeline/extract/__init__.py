"""Extract: a ``ReadResult`` (pages of text lines with boxes, decoded QR codes) → canonical ``Invoice`` objects.

Contract: ``extract_invoices(read) -> list[Invoice]`` returns one invoice per invoice found, in page order.
Structured data from OFD/XML readers wins (``pipeline.extract.structured``); otherwise the pages are read:
* each page is one invoice, unless it carries several distinct invoice QR codes, in which case the page is cut
  into one region per QR (stacked or side by side); a page that repeats the previous page's invoice number, or
  shows neither a number nor a total, continues the previous page's invoice (its items are appended); pages where
  nothing identifies an invoice are skipped;
* the kind comes from the QR type, then the printed title (a 定额 invoice titled 出租 is a taxi invoice), then the
  page's features (rail ticket, ride-hailing 行程单, a Latin-script receipt), then the 发票代码 structure
  (DOMAIN §1.1); the kind picks the reader (``vat`` for VAT, 数电, toll and hotel invoices, ``ticket`` for rail,
  ``air``, ``taxi``, ``quota``, ``receipt``, ``trip_table``);
* field keys are the canonical ones (DOMAIN §1.4 and ``pipeline.serialize``); every value carries its source
  (``QR``, the page's ``TEXT_LAYER``/``OCR``, or ``COMPUTED``), confidence (the OCR score of the line it was read
  from, 1.0 for text layer and QR), box and page; a field the document does not print is absent;
* the QR wins over the printed text for number, code, date, check code and the amount it carries; disagreements
  are ``qr_mismatch.<field>`` issues. Without a readable QR, the printed text alone gives the fields;
* every returned invoice has been through ``pipeline.validate.validate_invoice``.
"""

from __future__ import annotations

import re

from pipeline.codes import is_digital_number, kind_from_code, kind_from_title
from pipeline.extract import fields as F
from pipeline.extract.air import extract_air
from pipeline.extract.layout import Layout
from pipeline.extract.qr import apply_qr, invoice_payloads
from pipeline.extract.quota import extract_quota
from pipeline.extract.receipt import extract_receipt, looks_like_receipt
from pipeline.extract.structured import invoices_from_structured
from pipeline.extract.taxi import extract_taxi
from pipeline.extract.ticket import extract_ticket, looks_like_rail_ticket
from pipeline.extract.trip_table import extract_trip_table, looks_like_trip_table
from pipeline.extract.vat import complete_amounts, extract_vat
from pipeline.qr_payload import QrPayload
from pipeline.types import (
    FieldSource,
    Invoice,
    InvoiceKind,
    PageContent,
    QrCode,
    ReadResult,
    TextLine,
)
from pipeline.validate import validate_invoice

_READERS = {
    InvoiceKind.RAIL_E_TICKET: extract_ticket, InvoiceKind.RAIL_PAPER_TICKET: extract_ticket,
    InvoiceKind.AIR_E_ITINERARY: extract_air, InvoiceKind.AIR_PAPER_ITINERARY: extract_air,
    InvoiceKind.TAXI: extract_taxi, InvoiceKind.QUOTA: extract_quota,
}
_REFINES = {  # a broader kind (QR / title) and the narrower one the code or a keyword may show
    InvoiceKind.VAT_E_NORMAL: {InvoiceKind.VAT_E_TOLL},
    InvoiceKind.VAT_NORMAL: {InvoiceKind.VAT_ROLL},
}
_IDENTIFYING = ("invoice_number", "total_incl_tax", "amount_excl_tax", "train_no", "trip_total", "trip_count")


def extract_invoices(read: ReadResult) -> list[Invoice]:
    structured = invoices_from_structured(read)
    if structured:  # OFD / XML: the file's own data, no text to interpret
        return structured
    invoices: list[Invoice] = []
    pages = {p.page_no: p for p in read.pages}
    qr_by_page: dict[int, list[QrCode]] = {}
    for code in read.qr_codes:
        qr_by_page.setdefault(code.page, []).append(code)
    for page_no in sorted(set(pages) | set(qr_by_page)):
        page = pages.get(page_no) or PageContent(page_no, 0.0, 0.0, [], FieldSource.OCR)
        payloads = invoice_payloads(qr_by_page.get(page_no, []))
        for lines, found in _regions(page, payloads):
            inv = extract_region(lines, page, found[1] if found else None, found[0] if found else None)
            if inv is not None:
                invoices.append(inv)
    merged = _merge_continuations(invoices)
    for inv in merged:
        validate_invoice(inv)
    return merged


def extract_region(lines: list[TextLine], page: PageContent, payload: QrPayload | None = None,
                   code: QrCode | None = None) -> Invoice | None:
    """One invoice from the lines of one page region (and its QR payload, if any)."""
    layout = Layout(lines, page.width, page.height)
    source = page.source
    kind = _first_kind(layout, payload)
    inv = Invoice(kind=kind, page=page.page_no)
    if kind == InvoiceKind.TRIP_TABLE:
        extract_trip_table(layout, inv, source)
        return inv
    if kind == InvoiceKind.RECEIPT:
        extract_receipt(layout, inv, source)
        return inv if inv.fields else None
    _READERS.get(kind, extract_vat)(layout, inv, source)
    if payload is not None:
        apply_qr(inv, payload, code)
    inv.kind = _refine_kind(inv.kind, inv, layout)
    complete_amounts(inv)
    if inv.kind == InvoiceKind.UNKNOWN and not any(k in inv.fields for k in _IDENTIFYING):
        return None
    return inv


def _first_kind(layout: Layout, payload: QrPayload | None) -> InvoiceKind:
    if payload is not None and payload.kind is not None:
        return payload.kind
    if payload is None and looks_like_trip_table(layout):
        return InvoiceKind.TRIP_TABLE
    title = F.title(layout)
    title_kind = _kind_of_title(title.value) if title else None
    if title_kind is None:  # the tallest 发票 text was no title (发票联, a seal's big characters): try the others
        top = layout.height / 3 if layout.height else float("inf")
        for seg in sorted((s for s in layout.segs if s.y0 < top), key=lambda s: -s.h):
            title_kind = _kind_of_title(seg.text)
            if title_kind is not None:
                break
    if title_kind is not None:
        return title_kind
    if looks_like_rail_ticket(layout):
        numbers = F.digits_after(layout, r"发\s*票\s*号\s*码", (20,))
        return InvoiceKind.RAIL_E_TICKET if numbers else InvoiceKind.RAIL_PAPER_TICKET
    if looks_like_receipt(layout):
        return InvoiceKind.RECEIPT
    return InvoiceKind.UNKNOWN


def _kind_of_title(text: str) -> InvoiceKind | None:
    kind = kind_from_title(text)
    return InvoiceKind.TAXI if kind == InvoiceKind.QUOTA and "出租" in text else kind


def _refine_kind(kind: InvoiceKind, inv: Invoice, layout: Layout) -> InvoiceKind:
    code = inv.get("invoice_code")
    code_kind = kind_from_code(code) if code else None
    text = " ".join(s.text for s in layout.segs)
    keyword_kind = InvoiceKind.VAT_ROLL if re.search(r"卷\s*[票式]", text) else None
    if kind == InvoiceKind.UNKNOWN and code and len(code) == 12 and code[0] == "0" \
            and re.search(r"机\s*打\s*号\s*码", text) and re.search(r"收\s*款\s*员", text):
        keyword_kind = InvoiceKind.VAT_ROLL  # a 卷票 whose title was not read: its 机打号码 / 收款员 rows show it
    if kind == InvoiceKind.UNKNOWN:
        if code_kind is not None:
            return code_kind
        if keyword_kind is not None and code:
            return keyword_kind
        number = inv.get("invoice_number")
        if number and is_digital_number(number):  # a 数电 invoice whose title was misread
            return InvoiceKind.DIGITAL_SPECIAL if re.search(r"专\s*用\s*发\s*票", text) else InvoiceKind.DIGITAL_NORMAL
        return kind
    for narrower in (code_kind, keyword_kind):
        if narrower in _REFINES.get(kind, ()):
            return narrower
    return kind


def _regions(page: PageContent, payloads: list[tuple[QrCode, QrPayload]]
             ) -> list[tuple[list[TextLine], tuple[QrCode, QrPayload] | None]]:
    """Split a page with several invoice QRs into one region per QR (by the QR positions)."""
    if len(payloads) <= 1 or any(c.box is None for c, _ in payloads):
        return [(page.lines, payloads[0] if payloads else None)]
    boxes = [c.box for c, _ in payloads]
    spread_y = max(b[1] for b in boxes) - min(b[1] for b in boxes)
    spread_x = max(b[0] for b in boxes) - min(b[0] for b in boxes)
    axis = 1 if spread_y >= spread_x else 0
    ordered = sorted(payloads, key=lambda cp: cp[0].box[axis])
    starts = [c.box[axis] - 0.4 * (c.box[axis + 2] - c.box[axis]) for c, _ in ordered]
    regions: list[list[TextLine]] = [[] for _ in ordered]
    for line in page.lines:
        if line.box is None:
            regions[0].append(line)
            continue
        centre = (line.box[axis] + line.box[axis + 2]) / 2
        idx = max([i for i, s in enumerate(starts) if centre >= s] or [0])
        regions[idx].append(line)
    return list(zip(regions, ordered))


def _merge_continuations(invoices: list[Invoice]) -> list[Invoice]:
    """Fold a page into the invoice of the page before when it repeats that invoice's number, or when it shows
    neither a number nor a total of its own (an items page continued from the previous one)."""
    out: list[Invoice] = []
    for inv in invoices:
        prev = out[-1] if out else None
        same = inv.business_key is not None and inv.business_key == prev.business_key if prev else False
        orphan = "invoice_number" not in inv.fields and "total_incl_tax" not in inv.fields
        if (prev is not None and inv.page == prev.page + 1 and inv.kind in (prev.kind, InvoiceKind.UNKNOWN)
                and (same or orphan) and prev.kind != InvoiceKind.TRIP_TABLE):
            for key, fv in inv.fields.items():
                prev.fields.setdefault(key, fv)
            prev.items.extend(inv.items)
            prev.issues.extend(i for i in inv.issues if i not in prev.issues)
            continue
        out.append(inv)
    return out


__all__ = ["extract_invoices", "extract_region"]
