"""extract_invoices: QR vs printed text, invoices per page / per QR, kinds, pages that hold no invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.extract import extract_invoices
from pipeline.types import FieldSource, InvoiceKind, QrCode

from . import layouts as L

LEGACY = (L.LEGACY_E_NORMAL_OCR, *L.LEGACY_E_NORMAL_OCR_SIZE)
DIGITAL = (L.DIGITAL_NORMAL_OCR, *L.DIGITAL_NORMAL_OCR_SIZE)


def qr(text: str, page: int = 0, box=(101, 49, 167, 115)) -> QrCode:
    return QrCode(text, page, box)


def codes(inv) -> list[str]:
    return [i.code for i in inv.issues]


def test_qr_and_print_agree():
    [inv] = extract_invoices(L.read_result(LEGACY, qr=[qr(L.LEGACY_E_NORMAL_QR)]))
    assert inv.qr_text == L.LEGACY_E_NORMAL_QR
    for key in ("invoice_number", "invoice_code", "issue_date", "check_code"):
        assert inv.fields[key].source == FieldSource.QR and inv.fields[key].confidence == 1.0
    # a legacy (type 10) QR carries the amount excluding tax: it stands for 合计金额, not for 价税合计
    assert inv.fields["amount_excl_tax"].source == FieldSource.QR
    assert inv.fields["total_incl_tax"].source == FieldSource.OCR
    assert inv.get("total_incl_tax") == Decimal("52.70")
    assert inv.issues == []


def test_qr_wins_and_the_disagreement_is_reported():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "发票号码：33207675", "发票号码：33207678")
    layout = L.replaced(layout, "¥46.62", "¥46.02")
    [inv] = extract_invoices(L.read_result((layout, *L.LEGACY_E_NORMAL_OCR_SIZE), qr=[qr(L.LEGACY_E_NORMAL_QR)]))
    assert inv.get("invoice_number") == "33207675"
    assert inv.get("amount_excl_tax") == Decimal("46.62")
    assert set(codes(inv)) >= {"qr_mismatch.invoice_number", "qr_mismatch.amount_excl_tax"}
    issue = next(i for i in inv.issues if i.code == "qr_mismatch.invoice_number")
    assert issue.evidence["qr"] == "33207675" and issue.evidence["printed"] == "33207678"
    assert issue.evidence["printed_source"] == "ocr"


def test_a_decoded_code_replaces_a_repaired_one_and_its_report():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "发票代码:012001800311", "发票代码:013001800311")
    [inv] = extract_invoices(L.read_result((layout, *L.LEGACY_E_NORMAL_OCR_SIZE), qr=[qr(L.LEGACY_E_NORMAL_QR)]))
    assert inv.get("invoice_code") == "012001800311" and inv.fields["invoice_code"].source == FieldSource.QR
    assert "code_region_repaired" not in codes(inv) and "qr_mismatch.invoice_code" not in codes(inv)


def test_digital_qr_amount_is_the_tax_inclusive_total():
    layout = L.replaced(L.DIGITAL_NORMAL_OCR, "(小写)¥214.00", "(小写)¥241.00")
    layout = L.replaced(layout, "贰佰壹拾肆圆整", "贰佰肆拾壹圆整")  # the print says 241.00 twice
    [inv] = extract_invoices(L.read_result((layout, *L.DIGITAL_NORMAL_OCR_SIZE), qr=[qr(L.DIGITAL_NORMAL_QR)]))
    assert inv.get("total_incl_tax") == Decimal("214.00")
    assert inv.fields["total_incl_tax"].source == FieldSource.QR
    assert inv.fields["amount_excl_tax"].source == FieldSource.OCR
    assert "qr_mismatch.total_incl_tax" in codes(inv)
    assert "invoice_code" not in inv.fields  # the 数电 QR's empty code field sets nothing


def test_unreadable_qr_leaves_the_printed_fields():
    [inv] = extract_invoices(L.read_result(DIGITAL, qr=[qr("https://example.invalid/x?id=1"), qr("01,32,,garbage")]))
    assert inv.qr_text is None
    assert inv.get("invoice_number") == "24922000000078112547"
    assert all(fv.source == FieldSource.OCR for fv in inv.fields.values())


def test_qr_with_a_dashed_date_is_accepted():
    text = "01,32,,24922000000078112547,214.00,2024-12-28,,"
    [inv] = extract_invoices(L.read_result(DIGITAL, qr=[qr(text)]))
    assert inv.fields["issue_date"].source == FieldSource.QR
    assert inv.get("issue_date") == date(2024, 12, 28)
    assert inv.issues == []


def test_two_invoices_on_one_page_one_per_qr():
    top, (w, h) = L.LEGACY_E_NORMAL_OCR, L.LEGACY_E_NORMAL_OCR_SIZE
    below = L.shifted(L.DIGITAL_NORMAL_OCR, dy=h + 20)
    page = (top + below, max(w, L.DIGITAL_NORMAL_OCR_SIZE[0]), h + 20 + L.DIGITAL_NORMAL_OCR_SIZE[1])
    qrs = [qr(L.DIGITAL_NORMAL_QR, box=(36, h + 54, 150, h + 167)), qr(L.LEGACY_E_NORMAL_QR)]
    invoices = extract_invoices(L.read_result(page, qr=qrs))
    assert [i.get("invoice_number") for i in invoices] == ["33207675", "24922000000078112547"]
    assert [i.get("total_incl_tax") for i in invoices] == [Decimal("52.70"), Decimal("214.00")]
    assert [i.get("seller_name") for i in invoices] == ["天津瑞佳讯贸易有限公司", "青岛惠郡餐饮管理有限公司"]
    assert all(i.issues == [] for i in invoices)


def test_one_invoice_per_page():
    invoices = extract_invoices(L.read_result(LEGACY, DIGITAL, qr=[qr(L.DIGITAL_NORMAL_QR, page=1)]))
    assert [(i.page, i.kind) for i in invoices] == [(0, InvoiceKind.VAT_E_NORMAL), (1, InvoiceKind.DIGITAL_NORMAL)]
    assert invoices[0].qr_text is None and invoices[1].qr_text == L.DIGITAL_NORMAL_QR


def test_continuation_page_of_the_same_invoice_is_merged():
    second = (("发票号码：24922000000078112547", (877, 62, 1145, 81), 1.0),
              ("项目名称", (86, 298, 165, 322), 1.0), ("金额", (811, 299, 874, 324), 1.0),
              ("税率/征收率", (887, 298, 995, 324), 1.0), ("税额", (1097, 298, 1161, 323), 1.0),
              ("*餐饮服务*酒水", (23, 318, 155, 341), 1.0), ("10.00", (809, 319, 872, 342), 1.0),
              ("6%", (929, 318, 960, 342), 1.0), ("0.60", (1116, 318, 1168, 343), 1.0))
    invoices = extract_invoices(L.read_result(DIGITAL, (second, *L.DIGITAL_NORMAL_OCR_SIZE)))
    assert len(invoices) == 1
    assert [i.name for i in invoices[0].items] == ["*餐饮服务*餐费", "*餐饮服务*酒水"]


def test_pages_without_an_invoice_are_skipped():
    blank = ((("第2页 共2页", (500, 700, 600, 720), 1.0),), 1191, 794)
    invoices = extract_invoices(L.read_result(LEGACY, blank))
    assert len(invoices) == 1
    assert extract_invoices(L.read_result(blank)) == []


def test_qr_alone_when_ocr_found_no_text():
    invoices = extract_invoices(L.read_result(((), 1191, 794), qr=[qr(L.DIGITAL_NORMAL_QR)]))
    assert len(invoices) == 1
    inv = invoices[0]
    assert inv.kind == InvoiceKind.DIGITAL_NORMAL
    assert inv.get("total_incl_tax") == Decimal("214.00") and inv.get("invoice_number") == "24922000000078112547"


def test_toll_invoice_kind_refined_by_its_code():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "发票代码:012001800311", "发票代码:042001700112")
    text = "01,10,042001700112,33207675,46.62,20190508,76939056883466677916,E1BD,"
    [inv] = extract_invoices(L.read_result((layout, *L.LEGACY_E_NORMAL_OCR_SIZE), qr=[qr(text)]))
    assert inv.kind == InvoiceKind.VAT_E_TOLL  # QR type 10 says 电子普票, code suffix 12 says 通行费


def test_unknown_qr_type_falls_back_to_the_title():
    [inv] = extract_invoices(L.read_result((L.LEGACY_SPECIAL_TEXT, *L.LEGACY_SPECIAL_TEXT_SIZE),
                                           source=FieldSource.TEXT_LAYER, qr=[qr(L.LEGACY_SPECIAL_QR)]))
    assert inv.kind == InvoiceKind.VAT_E_SPECIAL  # the real QR says type 20
    assert inv.fields["amount_excl_tax"].source == FieldSource.QR  # it has a 发票代码: a legacy, ex-tax amount
    assert inv.issues == []


def test_items_page_without_number_or_total_continues_the_previous_invoice():
    second = (("电子发票（普通发票）", (385, 43, 772, 97), 1.0),
              ("项目名称", (86, 298, 165, 322), 1.0), ("金额", (811, 299, 874, 324), 1.0),
              ("税率/征收率", (887, 298, 995, 324), 1.0), ("税额", (1097, 298, 1161, 323), 1.0),
              ("*餐饮服务*酒水", (23, 318, 155, 341), 1.0), ("10.00", (809, 319, 872, 342), 1.0),
              ("6%", (929, 318, 960, 342), 1.0), ("0.60", (1116, 318, 1168, 343), 1.0))
    invoices = extract_invoices(L.read_result(DIGITAL, (second, *L.DIGITAL_NORMAL_OCR_SIZE)))
    assert len(invoices) == 1
    assert len(invoices[0].items) == 2
    # the items no longer add up to the first page's 合计: validation says so
    assert "items_amount_sum" in codes(invoices[0])


def test_two_different_invoices_on_two_pages_stay_apart():
    other = L.replaced(L.DIGITAL_NORMAL_OCR, "发票号码：24922000000078112547", "发票号码：24922000000078112548")
    invoices = extract_invoices(L.read_result(DIGITAL, (other, *L.DIGITAL_NORMAL_OCR_SIZE)))
    assert [i.get("invoice_number") for i in invoices] == ["24922000000078112547", "24922000000078112548"]
