"""Rail tickets (paper, 数电 e-ticket) and ride-hailing 行程单."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pipeline.extract import extract_invoices
from pipeline.money import tax_from_inclusive
from pipeline.types import FieldSource, InvoiceKind, QrCode

from . import layouts as L


def test_paper_rail_ticket_from_ocr():
    qr = [QrCode(L.RAIL_PAPER_QR, 0, (888, 417, 1110, 642))]  # the ticket's own code: not an invoice QR
    [inv] = extract_invoices(L.read_result((L.RAIL_PAPER_OCR, *L.RAIL_PAPER_OCR_SIZE), qr=qr))
    assert inv.kind == InvoiceKind.RAIL_PAPER_TICKET
    assert inv.qr_text is None
    assert inv.get("from_station") == "安顺"
    assert inv.get("to_station") == "贵阳"
    assert inv.get("train_no") == "K492"
    assert inv.get("depart_datetime") == datetime(2015, 9, 2, 20, 8)
    assert inv.get("seat_class") == "新空调硬座"
    assert inv.get("seat_no") == "06车076号"
    assert inv.get("passenger_name") == "陈诗欣"
    assert inv.get("invoice_number") == "C045758"  # 票号, confirmed by the serial's tail
    assert inv.get("total_incl_tax") == Decimal("15.50")
    assert "issue_date" not in inv.fields  # a paper ticket prints no 开票日期
    ex_tax, tax = tax_from_inclusive(Decimal("15.50"), Decimal("0.09"))
    assert (inv.get("amount_excl_tax"), inv.get("tax_amount")) == (ex_tax, tax)
    assert inv.fields["tax_amount"].source == FieldSource.COMPUTED
    assert inv.issues == []


def test_paper_ticket_number_recovered_from_the_serial():
    layout = L.without(L.RAIL_PAPER_OCR, "C045758")
    [inv] = extract_invoices(L.read_result((layout, *L.RAIL_PAPER_OCR_SIZE)))
    assert inv.get("invoice_number") == "C045758"
    assert inv.fields["invoice_number"].confidence < 1.0


def test_rail_e_ticket():
    [inv] = extract_invoices(L.read_result((L.RAIL_E_TICKET_TEXT, *L.RAIL_E_TICKET_TEXT_SIZE),
                                           source=FieldSource.TEXT_LAYER))
    assert inv.kind == InvoiceKind.RAIL_E_TICKET
    assert inv.get("invoice_number") == "25119110860000123456"
    assert inv.get("issue_date") == date(2025, 3, 8)
    assert (inv.get("from_station"), inv.get("to_station"), inv.get("train_no")) == ("北京南", "上海虹桥", "G123")
    assert inv.get("depart_datetime") == datetime(2025, 3, 6, 19, 54)  # the trip date, not the issue date
    assert (inv.get("seat_class"), inv.get("seat_no")) == ("二等座", "03车12A号")
    assert inv.get("passenger_name") == "张三"
    assert inv.get("total_incl_tax") == Decimal("553.00")
    assert inv.get("e_ticket_no") == "1234567890123456789012"
    assert inv.get("buyer_name") == "北京某某科技有限公司"
    assert inv.get("buyer_tax_id") == "91110000600037341L"
    assert "seller_name" not in inv.fields


def test_rail_e_ticket_with_its_qr():
    qr = [QrCode("01,51,,25119110860000123456,553.00,20250308,,219a", 0, (10, 10, 50, 50))]
    [inv] = extract_invoices(L.read_result((L.RAIL_E_TICKET_TEXT, *L.RAIL_E_TICKET_TEXT_SIZE),
                                           source=FieldSource.TEXT_LAYER, qr=qr))
    assert inv.kind == InvoiceKind.RAIL_E_TICKET
    assert inv.fields["total_incl_tax"].source == FieldSource.QR  # type 51 carries the tax-inclusive fare
    assert inv.issues == []


def test_trip_table_is_evidence_not_an_invoice():
    [inv] = extract_invoices(L.read_result((L.TRIP_TABLE_TEXT, *L.TRIP_TABLE_TEXT_SIZE),
                                           source=FieldSource.TEXT_LAYER))
    assert inv.kind == InvoiceKind.TRIP_TABLE
    assert inv.get("title") == "滴滴出行—行程单"
    assert inv.get("apply_date") == date(2020, 12, 3)
    assert (inv.get("period_start"), inv.get("period_end")) == (date(2020, 11, 2), date(2020, 11, 27))
    assert inv.get("trip_count") == "12"
    assert inv.get("trip_total") == Decimal("490.83")
    for counted in ("total_incl_tax", "amount_excl_tax", "tax_amount", "invoice_number"):
        assert counted not in inv.fields
    assert inv.total is None
