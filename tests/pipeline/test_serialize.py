import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.runner import extract_file
from pipeline.serialize import invoice_from_json, invoice_to_json
from pipeline.types import Classification, FieldSource, Invoice, InvoiceKind, LineItem, ValidationIssue


def sample_invoice() -> Invoice:
    inv = Invoice(kind=InvoiceKind.VAT_E_NORMAL, qr_text="01,10,012001900111,51142414,47.26,20190720,x,8BDD,")
    inv.set("invoice_number", "51142414", 1.0, FieldSource.QR)
    inv.set("issue_date", date(2019, 7, 20), 1.0, FieldSource.QR)
    inv.set("total_incl_tax", Decimal("53.4"), 0.97, FieldSource.TEXT_LAYER)
    inv.set("depart_datetime", datetime(2015, 9, 2, 20, 8), 0.9, FieldSource.OCR)
    inv.set("seller_name", "", 0.5, FieldSource.OCR)  # empty values are not fields
    inv.items.append(LineItem("*其他食品*臭豆腐", Decimal("50.18"), "0.13", Decimal("6.52")))
    inv.issues.append(ValidationIssue("upper_mismatch", "大写 53.00 != 53.40", {"upper": "伍拾叁圆"}))
    return inv


def test_contract_shape_and_strings():
    out = invoice_to_json(sample_invoice(), Classification("office", 0.91234, False, "cat-x"))
    f = out["fields"]
    assert out["kind"] == f["kind"] == "vat_e_normal"
    assert f["total_incl_tax"] == "53.40" and f["issue_date"] == "2019-07-20"
    assert f["depart_datetime"] == "2015-09-02 20:08"
    assert "seller_name" not in f
    assert f["items"] == [{"name": "*其他食品*臭豆腐", "amount": "50.18", "tax_rate": "0.13", "tax_amount": "6.52"}]
    assert f["category"] == "office" and f["category_confidence"] == 0.9123
    assert out["confidence"]["total_incl_tax"] == 0.97 and out["sources"]["invoice_number"] == "qr"


def test_round_trip_is_exact():
    inv = sample_invoice()
    back = invoice_from_json(invoice_to_json(inv))
    assert back.kind is inv.kind and back.qr_text == inv.qr_text
    assert back.fields == inv.fields
    assert back.items == inv.items and back.issues == inv.issues
    assert isinstance(back.get("total_incl_tax"), Decimal)


REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "data" / "real"
DOCUMENTS = [*sorted((REPO / "samples" / "invoices").glob("*.pdf")),
             *sorted(REAL.glob("cn_pdf/*.pdf")), *sorted(REAL.glob("cn_xml_ofd/*.ofd"))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_field_the_extractor_sets_survives_the_round_trip(path):
    extraction = extract_file(path)
    assert extraction.invoices, extraction.error
    for inv in extraction.invoices:
        back = invoice_from_json(json.loads(json.dumps(invoice_to_json(inv), ensure_ascii=False)))
        assert back.fields == inv.fields and back.items == inv.items
