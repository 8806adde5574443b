"""invoices_from_structured: typed Invoice objects from the OFD/XML readers' structured keys."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

import pytest

from pipeline.extract.structured import invoices_from_structured, parse_date, parse_datetime
from pipeline.types import DocType, FieldSource, InvoiceKind, ReadResult, SourceDocument


def read_of(structured: dict[str, str], doc_type: DocType = DocType.XML) -> ReadResult:
    doc = SourceDocument("x", b"x", hashlib.sha256(b"x").hexdigest(), doc_type, "application/xml")
    return ReadResult(document=doc, structured=structured)


DIGITAL = {
    "structured_format": "xml.digital", "invoice_number": "24312000000358032546",
    "issue_date": "2024-11-18 09:31:05", "seller_tax_id": "91350200MA2YJ1XR9G", "seller_name": "厦门某某酒店管理有限公司",
    "buyer_tax_id": "91110000600037341l ", "buyer_name": "北京某某科技有限公司（北京）", "amount_excl_tax": "597.17",
    "tax_amount": "35.83", "total_incl_tax": "633.00", "total_upper": "陆佰叁拾叁圆整", "drawer": "张三",
    "vat_label": "增值税专用发票", "title": "电子发票(增值税专用发票)",
    "items.0.name": "*住宿服务*住宿费", "items.0.amount": "566.04", "items.0.tax_rate": "0.06",
    "items.0.tax_amount": "33.96", "items.0.unit": "天",
    "items.1.name": "*餐饮服务*早餐", "items.1.amount": "31.13", "items.1.tax_rate": "0.060000",
    "items.1.tax_amount": "1.87",
}

LEGACY = {
    "structured_format": "xml.legacy", "invoice_code": "011001600211", "invoice_number": "25236205",
    "issue_date": "2017年07月01日", "check_code": "70438474151372413936", "machine_no": "661616310003",
    "buyer_name": "北京某某科技有限公司", "buyer_tax_id": "91110000600037341L", "seller_name": "北京某某餐饮有限公司",
    "seller_tax_id": "911201163409833307", "amount_excl_tax": "33.96", "tax_amount": "2.04",
    "total_incl_tax": "36.00", "qr_text": "01,10,011001600211,25236205,33.96,20170701,70438474151372413936,AD3C,",
    "items.0.name": "*餐饮服务*餐费", "items.0.amount": "33.96", "items.0.tax_rate": "6%", "items.0.tax_amount": "2.04",
}


def only(read: ReadResult):
    invoices = invoices_from_structured(read)
    assert len(invoices) == 1
    return invoices[0]


def test_digital_xml_invoice():
    inv = only(read_of(DIGITAL))
    assert inv.kind == InvoiceKind.DIGITAL_SPECIAL
    assert inv.get("invoice_number") == "24312000000358032546" and inv.get("invoice_code") is None
    assert inv.get("issue_date") == date(2024, 11, 18)
    assert inv.get("total_incl_tax") == Decimal("633.00") and isinstance(inv.get("tax_amount"), Decimal)
    assert inv.get("buyer_tax_id") == "91110000600037341L"  # whitespace dropped, upper-cased
    assert inv.get("buyer_name") == "北京某某科技有限公司(北京)"  # normalised like every other reader's text
    assert inv.business_key == "24312000000358032546"
    assert [(i.name, i.amount, i.tax_rate, i.tax_amount) for i in inv.items] == [
        ("*住宿服务*住宿费", Decimal("566.04"), "0.06", Decimal("33.96")),
        ("*餐饮服务*早餐", Decimal("31.13"), "0.06", Decimal("1.87"))]
    for fv in inv.fields.values():
        assert (fv.source, fv.confidence, fv.page) == (FieldSource.XML, 1.0, 0)
    assert inv.issues == []  # amounts, items, 大写 and tax IDs are all consistent
    assert inv.qr_text is None


def test_digital_normal_label_and_red_letter():
    inv = only(read_of({**DIGITAL, "vat_label": "普通发票", "red_letter": "true", "total_incl_tax": "-633.00",
                        "amount_excl_tax": "-597.17", "tax_amount": "-35.83", "total_upper": "（负数）陆佰叁拾叁圆整"}))
    assert inv.kind == InvoiceKind.DIGITAL_NORMAL
    assert "red_letter" in {i.code for i in inv.issues}
    assert inv.get("total_incl_tax") == Decimal("-633.00")


def test_legacy_xml_invoice_takes_its_kind_from_the_qr():
    inv = only(read_of(LEGACY))
    assert inv.kind == InvoiceKind.VAT_E_NORMAL
    assert inv.qr_text == LEGACY["qr_text"]
    assert inv.get("issue_date") == date(2017, 7, 1)
    assert inv.business_key == "011001600211:25236205"
    assert [i.tax_rate for i in inv.items] == ["0.06"]
    assert inv.issues == []


def test_missing_fields_are_filled_from_the_qr_and_disagreement_is_flagged():
    partial = {k: v for k, v in LEGACY.items() if k not in ("check_code", "amount_excl_tax")}
    inv = only(read_of({**partial, "structured_format": "ofd"}, DocType.OFD))
    assert inv.get("check_code") == "70438474151372413936"
    assert inv.fields["check_code"].source == FieldSource.QR
    assert inv.fields["invoice_number"].source == FieldSource.OFD
    assert inv.get("amount_excl_tax") == Decimal("33.96")
    tampered = only(read_of({**LEGACY, "amount_excl_tax": "133.96", "total_incl_tax": "136.00"}))
    assert any(i.code.startswith("qr_mismatch") for i in tampered.issues)


def test_rail_xbrl_ticket():
    inv = only(read_of({"structured_format": "xml.xbrl_rail", "invoice_number": "26339132621000219582",
                        "issue_date": "2026-03-08", "from_station": "上海虹桥", "to_station": "杭州东",
                        "train_no": "G7501", "depart_datetime": "2026-03-06 19:54", "seat_class": "二等座",
                        "seat_no": "03车12A号", "total_incl_tax": "73.00", "passenger_name": "曹某",
                        "title": "电子发票(铁路电子客票)"}))
    assert inv.kind == InvoiceKind.RAIL_E_TICKET
    assert inv.get("depart_datetime") == datetime(2026, 3, 6, 19, 54)
    assert (inv.get("from_station"), inv.get("train_no")) == ("上海虹桥", "G7501")
    assert inv.total == Decimal("73.00")


@pytest.mark.parametrize("structured", [
    {},
    {"InvoiceNumber": "24312000000358032546", "TotalTax-includedAmount": "633.00"},  # the PDF reader's hints
    {"structured_format": "pdf", "invoice_number": "24312000000358032546"},
    {"structured_format": "xml.digital", "buyer_name": "北京某某科技有限公司"},  # nothing that identifies an invoice
])
def test_no_structured_invoice_gives_nothing(structured):
    assert invoices_from_structured(read_of(structured)) == []


@pytest.mark.parametrize("structured, kind", [
    ({"invoice_code": "033002000112", "title": "增值税电子普通发票"}, InvoiceKind.VAT_E_TOLL),  # code refines title
    ({"invoice_code": "033002000211"}, InvoiceKind.VAT_E_NORMAL),
    ({"title": "电子发票(普通发票)"}, InvoiceKind.DIGITAL_NORMAL),
    ({}, InvoiceKind.DIGITAL_NORMAL),  # a bare 20-digit number
])
def test_kind_without_qr_or_label(structured, kind):
    number = "12345678" if "invoice_code" in structured else "25442000000012341234"
    inv = only(read_of({"structured_format": "ofd", "invoice_number": number, **structured}, DocType.OFD))
    assert inv.kind == kind


def test_unknown_kind_and_unconvertible_values_are_left_out():
    inv = only(read_of({"structured_format": "xml.labels", "invoice_number": "123", "total_incl_tax": "约一百元",
                        "issue_date": "2024-13-45", "items.0.name": "咨询费", "items.0.tax_rate": "***",
                        "items.0.tax_amount": "***"}))
    assert inv.kind == InvoiceKind.UNKNOWN
    assert "total_incl_tax" not in inv.fields and "issue_date" not in inv.fields
    assert [(i.name, i.amount, i.tax_rate, i.tax_amount) for i in inv.items] == [
        ("咨询费", None, "不征税", Decimal("0.00"))]


@pytest.mark.parametrize("text, expected", [
    ("2020年07月23日", date(2020, 7, 23)), ("2024-05-14 10:20:30", date(2024, 5, 14)), ("20240514", date(2024, 5, 14)),
    ("２０２４年５月１日", date(2024, 5, 1)), ("2024-02-30", None), ("", None), (None, None), ("soon", None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_parse_datetime():
    assert parse_datetime("2026-03-06 19:54") == datetime(2026, 3, 6, 19, 54)
    assert parse_datetime("2026年03月06日 19:54开") == datetime(2026, 3, 6, 19, 54)
    assert parse_datetime("2026-03-06") is None
