"""Extraction over the real public documents in ../shared/data/real, against their .truth.json files.

PDFs (text layer, fast): every document's invoice number, issue date and total must be right, with the QR code
and without it (the text must stand on its own). Images (OCR, slow: ``-m slow``): accuracy per field must reach
``IMAGE_TARGET`` over the documents whose truth has the field, with and without the QR codes.

Truth keys: ``invoice_number``, ``issue_date`` (YYYY-MM-DD), ``total_incl_tax``, ``amount_excl_tax``,
``invoice_code``, ``seller_tax_id``; cn_img_batch truths only hold what the QR says: ``qr_amount`` is the amount
excluding tax for legacy QR types (10) and the tax-inclusive total for 数电 types (31/32).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.extract import extract_invoices
from pipeline.ingest import ingest_bytes
from pipeline.readers import read_document
from pipeline.types import Invoice, InvoiceKind, ReadResult

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
IMAGE_TARGET = 0.9
COMPARED = ("invoice_number", "issue_date", "total_incl_tax", "amount_excl_tax", "invoice_code", "seller_tax_id")
TICKET_FIELDS = ("from_station", "to_station", "train_no", "depart_datetime", "seat_class", "passenger_name")

pytestmark = [pytest.mark.real_data,
              pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is not available")]


def truth_fields(doc: Path) -> dict[str, str]:
    """What the truth file says about our canonical keys (money as 2-dp strings)."""
    data = json.loads(doc.with_suffix(".truth.json").read_text(encoding="utf-8"))
    fields, qr = data.get("fields", {}), data.get("qr") or {}
    out = {k: fields[k] for k in COMPARED if fields.get(k)}
    if fields.get("qr_amount") and "total_incl_tax" not in fields:
        key = "total_incl_tax" if qr.get("qr_type_code") in ("31", "32", "51", "61") else "amount_excl_tax"
        out[key] = fields["qr_amount"]
    if fields.get("train_no"):
        out.update({k: fields[k] for k in TICKET_FIELDS})
        out["total_incl_tax"] = fields["price"]
    for key in ("total_incl_tax", "amount_excl_tax"):
        if key in out:
            out[key] = f"{Decimal(out[key]):.2f}"
    return out


def as_text(value) -> str | None:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def read(doc: Path) -> ReadResult:
    return read_document(ingest_bytes(doc.name, doc.read_bytes()))


def without_qr(result: ReadResult) -> ReadResult:
    return dataclasses.replace(result, qr_codes=[])


def compare(invoices: list[Invoice], truth: dict[str, str]) -> dict[str, bool]:
    inv = invoices[0] if invoices else None
    return {k: inv is not None and as_text(inv.get(k)) == v for k, v in truth.items()}


PDFS = sorted(REAL.glob("cn_pdf/*.pdf")) if REAL.is_dir() else []
INVOICE_PDFS = [p for p in PDFS if "trip_table" not in p.name]
IMAGES = sorted(p for folder in ("cn_img", "cn_img_batch") for p in (REAL / folder).glob("*")
                if p.suffix.lower() in (".png", ".jpg", ".jpeg")) if REAL.is_dir() else []


@pytest.fixture(scope="module")
def pdf_reads() -> dict[Path, ReadResult]:
    return {p: read(p) for p in PDFS}


@pytest.mark.parametrize("with_qr", [True, False], ids=["qr", "text_only"])
@pytest.mark.parametrize("doc", INVOICE_PDFS, ids=[p.stem for p in INVOICE_PDFS])
def test_pdf_invoice(doc, with_qr, pdf_reads):
    result = pdf_reads[doc] if with_qr else without_qr(pdf_reads[doc])
    invoices = extract_invoices(result)
    assert len(invoices) == 1
    truth = truth_fields(doc)
    assert {"invoice_number", "issue_date", "total_incl_tax"} <= set(truth)
    got = {k: as_text(invoices[0].get(k)) for k in truth}
    assert got == truth
    assert [i.code for i in invoices[0].issues] == []


def test_pdf_trip_table_is_not_counted(pdf_reads):
    [doc] = [p for p in PDFS if "trip_table" in p.name]
    [inv] = extract_invoices(pdf_reads[doc])
    truth = json.loads(doc.with_suffix(".truth.json").read_text(encoding="utf-8"))["fields"]
    assert inv.kind == InvoiceKind.TRIP_TABLE
    assert inv.total is None
    assert as_text(inv.get("trip_total")) == truth["total_amount"]
    assert inv.get("trip_count") == truth["trip_count"]
    assert as_text(inv.get("apply_date")) == truth["apply_date"]


def image_accuracy(with_qr: bool) -> tuple[dict[str, list[bool]], list[str]]:
    per_field: dict[str, list[bool]] = {}
    failures = []
    for doc in IMAGES:
        truth = truth_fields(doc)
        if not truth:
            continue  # 'noqr' images: no truth
        result = read(doc)
        ok = compare(extract_invoices(result if with_qr else without_qr(result)), truth)
        for key, good in ok.items():
            per_field.setdefault(key, []).append(good)
            if not good:
                failures.append(f"{doc.name}:{key}")
    return per_field, failures


@pytest.mark.slow
@pytest.mark.parametrize("with_qr", [True, False], ids=["qr", "ocr_only"])
def test_image_accuracy(with_qr):
    per_field, failures = image_accuracy(with_qr)
    for key in ("invoice_number", "issue_date", "total_incl_tax"):
        results = per_field[key]
        assert sum(results) / len(results) >= IMAGE_TARGET, (key, failures)
