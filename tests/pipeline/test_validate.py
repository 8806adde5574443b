"""validate_invoice: identities, 大写, QR agreement (ex-tax vs tax-inclusive amounts), tax-ID checksums."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.types import FieldSource, Invoice, InvoiceKind, LineItem
from pipeline.validate import parse_qr, qr_amount_field, validate_invoice

D = Decimal
LEGACY_QR = "01,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,"
DIGITAL_QR = "01,31,,26442000005310626521,31605.00,20260514,,"


def invoice(kind=InvoiceKind.VAT_E_NORMAL, items=(), qr_text=None, source=FieldSource.OCR, **fields) -> Invoice:
    inv = Invoice(kind=kind, items=list(items), qr_text=qr_text)
    for key, value in fields.items():
        inv.set(key, value, 0.9, source)
    return inv


def codes(issues) -> list[str]:
    return [i.code for i in issues]


def legacy(**overrides) -> Invoice:
    fields = {"invoice_code": "033002000211", "invoice_number": "83089647", "issue_date": date(2020, 7, 23),
              "amount_excl_tax": D("510.68"), "tax_amount": D("15.32"), "total_incl_tax": D("526.00"),
              "total_upper": "伍佰贰拾陆圆整", "seller_tax_id": "91350200MA2YJ1XR9G",
              "buyer_tax_id": "91110000600037341L"}
    fields.update(overrides)
    items = [LineItem("*信息技术服务*技术服务费", D("510.68"), "0.03", D("15.32"))]
    return invoice(items=items, qr_text=LEGACY_QR, **fields)


def test_a_consistent_invoice_has_no_issues():
    inv = legacy()
    assert validate_invoice(inv) == []
    assert inv.issues == []


def test_amount_identity():
    inv = legacy(total_incl_tax=D("526.01"), total_upper="伍佰贰拾陆圆零壹分")
    issues = validate_invoice(inv)
    assert codes(issues) == ["amount_identity"]
    assert issues[0].evidence == {"amount_excl_tax": "510.68", "tax_amount": "15.32", "total_incl_tax": "526.01"}
    assert inv.issues == issues


def test_items_must_add_up_to_the_sums():
    items = [LineItem("a", D("300.00"), "0.03", D("9.00")), LineItem("b", D("210.00"), "0.03", D("6.30"))]
    inv = legacy()
    inv.items = items
    assert codes(validate_invoice(inv)) == ["items_amount_sum", "items_tax_sum"]


def test_item_sums_skipped_when_a_line_lacks_the_value():
    inv = legacy()
    inv.items = [LineItem("a", D("300.00"), None, None), LineItem("b", None, None, None)]
    assert validate_invoice(inv) == []


def test_negative_discount_lines_count_in_the_sums():
    items = [LineItem("*其他食品*x", D("50.18"), "0.13", D("6.52")), LineItem("*其他食品*x", D("-2.92"), "0.13", D("-0.38"))]
    inv = invoice(amount_excl_tax=D("47.26"), tax_amount=D("6.14"), total_incl_tax=D("53.40"), items=items)
    assert validate_invoice(inv) == []


def test_line_tax_must_match_its_rate():
    inv = legacy(tax_amount=D("15.42"), total_incl_tax=D("526.10"), total_upper="伍佰贰拾陆圆壹角整")
    inv.items = [LineItem("x", D("510.68"), "0.03", D("15.42"))]
    issues = validate_invoice(inv)
    assert codes(issues) == ["item_tax_rate"]
    assert issues[0].evidence["line"] == "1"


def test_exempt_lines_and_list_lines_skip_the_rate_check():
    items = [LineItem("*蔬菜*x", D("19.24"), "免税", D("0.00")), LineItem("(详见销货清单)", D("46.62"), "0.13", D("6.08"))]
    inv = invoice(items=items)
    assert validate_invoice(inv) == []


@pytest.mark.parametrize("upper, expected", [
    ("伍佰贰拾陆圆整", []),
    ("伍佰贰拾陆元整", []),  # 元 and 圆 read the same: values are compared, never strings
    ("伍佰贰拾伍圆整", ["upper_mismatch"]),
    ("伍佰贰拾陆圆整整整不", ["upper_unreadable"]),
])
def test_upper_against_lower(upper, expected):
    assert codes(validate_invoice(legacy(total_upper=upper))) == expected


@pytest.mark.parametrize("field, printed", [
    ("invoice_number", "83089648"),
    ("invoice_code", "033002000212"),
    ("issue_date", date(2020, 7, 24)),
    ("amount_excl_tax", D("510.69")),
])
def test_legacy_qr_disagreement(field, printed):
    overrides = {field: printed}
    if field == "amount_excl_tax":
        overrides.update(tax_amount=D("15.31"))
    inv = legacy(**overrides)
    inv.items = []
    issues = validate_invoice(inv)
    assert codes(issues) == [f"qr_mismatch.{field}"]
    assert issues[0].evidence["printed"] == str(printed)


def test_legacy_qr_amount_is_compared_with_the_amount_excluding_tax():
    # 510.68 in the QR is the 合计金额; the 价税合计 526.00 is not a disagreement
    assert qr_amount_field(parse_qr(LEGACY_QR)) == "amount_excl_tax"
    assert validate_invoice(legacy()) == []


def test_digital_qr_amount_is_compared_with_the_total():
    assert qr_amount_field(parse_qr(DIGITAL_QR)) == "total_incl_tax"
    good = invoice(kind=InvoiceKind.DIGITAL_SPECIAL, qr_text=DIGITAL_QR, invoice_number="26442000005310626521",
                   issue_date=date(2026, 5, 14), amount_excl_tax=D("27969.03"), tax_amount=D("3635.97"),
                   total_incl_tax=D("31605.00"))
    assert validate_invoice(good) == []
    bad = invoice(kind=InvoiceKind.DIGITAL_SPECIAL, qr_text=DIGITAL_QR, invoice_number="26442000005310626521",
                  issue_date=date(2026, 5, 14), total_incl_tax=D("27969.03"))
    assert codes(validate_invoice(bad)) == ["qr_mismatch.total_incl_tax"]


def test_fields_taken_from_the_qr_are_not_compared_with_themselves():
    inv = invoice(qr_text=DIGITAL_QR, source=FieldSource.QR, invoice_number="26442000005310626521",
                  total_incl_tax=D("31605.00"))
    assert validate_invoice(inv) == []


def test_unparseable_qr_text_is_ignored():
    inv = legacy(invoice_number="11111111")
    inv.qr_text = "not a qr"
    assert validate_invoice(inv) == []


@pytest.mark.parametrize("tax_id, expected", [
    ("91350200MA2YJ1XR9G", []),
    ("91500102563638729E", ["tax_id_checksum.seller_tax_id"]),  # real, printed on a public sample, fails the check
    ("11010519491231002X", []),  # a person's ID card number
    ("110105194912310", []),  # old 15-char 税务登记证号
    ("ABC", ["tax_id_format.seller_tax_id"]),
])
def test_tax_id_checks_are_warnings(tax_id, expected):
    assert codes(validate_invoice(legacy(seller_tax_id=tax_id))) == expected


def test_validation_is_idempotent():
    inv = legacy(total_upper="伍佰贰拾伍圆整", invoice_number="83089648")
    first = validate_invoice(inv)
    assert codes(first) == ["upper_mismatch", "qr_mismatch.invoice_number"]
    assert validate_invoice(inv) == []
    assert codes(inv.issues) == ["upper_mismatch", "qr_mismatch.invoice_number"]


def test_missing_fields_never_raise():
    assert validate_invoice(Invoice(kind=InvoiceKind.UNKNOWN)) == []


@pytest.mark.parametrize(("kind", "code", "title", "flagged"), [
    (InvoiceKind.VAT_E_NORMAL, "052002069111", "江苏增值税电子普通发票", True),  # 3 read as 5: 贵州's region
    (InvoiceKind.VAT_E_NORMAL, "032002069111", "江苏增值税电子普通发票", False),
    (InvoiceKind.VAT_E_NORMAL, "037021953311", "山东增值税电子普通发票", False),  # 青岛 (3702) is in 山东
    (InvoiceKind.VAT_E_NORMAL, "044031900111", "深圳增值税电子普通发票", False),
    (InvoiceKind.VAT_SPECIAL, "3300191130", "浙江增值税专用发票", False),  # 10 digits: region first
    (InvoiceKind.VAT_SPECIAL, "4400191130", "浙江增值税专用发票", True),
    (InvoiceKind.VAT_E_NORMAL, "052002069111", "增值税电子普通发票", False),  # no province to compare
    (InvoiceKind.QUOTA, "111025345075", "江苏通用定额发票", False),  # not a VAT code
])
def test_a_vat_code_from_another_province_than_the_title_is_an_issue(kind, code, title, flagged):
    issues = validate_invoice(invoice(kind=kind, invoice_code=code, title=title))
    assert ("code_region_mismatch" in codes(issues)) is flagged
