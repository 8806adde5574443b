"""The runner's own rule: a faulty photo whose invoices cannot be identified is refused, not passed on."""

import pytest

from pipeline import runner
from pipeline.config import PipelineSettings
from pipeline.readers.quality import GLARE
from pipeline.types import (DocType, FieldSource, Invoice, InvoiceKind, QrCode, ReadResult, SourceDocument)

DOC = SourceDocument(name="photo.jpg", data=b"", sha256="0" * 64, doc_type=DocType.IMAGE, media_type="image/jpeg")


def taxi(number: str | None) -> Invoice:
    inv = Invoice(kind=InvoiceKind.TAXI)
    inv.set("total_incl_tax", "23.00", 0.9, FieldSource.OCR)
    if number:
        inv.set("invoice_number", number, 0.9, FieldSource.OCR)
    return inv


def run(monkeypatch, invoices: list[Invoice], problems: list[str], qr: bool = False) -> list[Invoice]:
    read = ReadResult(document=DOC, warnings=list(problems), quality_problems=list(problems),
                      qr_codes=[QrCode("01,10,,12345678,23.00,20240101,,")] if qr else [])
    monkeypatch.setattr(runner, "read_document", lambda doc, settings: read)
    monkeypatch.setattr(runner, "extract_invoices", lambda r: invoices)
    return runner._extract_document(DOC, PipelineSettings(), {}, [])


def test_a_glared_photo_without_a_legible_number_is_refused_with_the_reason(monkeypatch):
    with pytest.raises(runner.UnreadableImage) as err:
        run(monkeypatch, [taxi(None)], [GLARE])
    assert "invoice number is not legible" in str(err.value) and GLARE in str(err.value)


def test_the_refusal_needs_a_quality_problem_and_no_number_anywhere(monkeypatch):
    assert len(run(monkeypatch, [taxi(None)], [])) == 1  # a clean photo: R3 tells finance instead
    assert len(run(monkeypatch, [taxi(None)], [GLARE], qr=True)) == 1  # the QR carries the number
    assert len(run(monkeypatch, [taxi(None), taxi("12345678")], [GLARE])) == 2  # one invoice is identified
    receipt = Invoice(kind=InvoiceKind.RECEIPT)  # receipts print no invoice number
    assert len(run(monkeypatch, [receipt], [GLARE])) == 1
    itinerary = Invoice(kind=InvoiceKind.AIR_PAPER_ITINERARY)  # its serial unreadable, its e-ticket number read
    itinerary.set("e_ticket_no", "7843456789012", 0.9, FieldSource.OCR)
    assert len(run(monkeypatch, [itinerary], [GLARE])) == 1
