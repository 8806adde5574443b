from datetime import date
from decimal import Decimal

import pytest

from pipeline.policy import CompanyInfo, check_invoices
from pipeline.types import FieldSource, Invoice, InvoiceKind, Severity, ValidationIssue

COMPANY = CompanyInfo(legal_name="武汉市车城物流有限公司", tax_id="914201007483062457")


def make_invoice(number="11162913", code="042001900112", buyer="武汉市车城物流有限公司",
                 buyer_tax_id="914201007483062457", total="190.19", kind=InvoiceKind.VAT_E_TOLL) -> Invoice:
    inv = Invoice(kind=kind)
    for key, value in (("invoice_number", number), ("invoice_code", code), ("buyer_name", buyer),
                       ("buyer_tax_id", buyer_tax_id), ("issue_date", date(2019, 8, 1)),
                       ("total_incl_tax", Decimal(total) if total else None)):
        inv.set(key, value, 1.0, FieldSource.TEXT_LAYER)
    return inv


def rule_ids(findings):
    return sorted(f.rule_id for f in findings)


def test_clean_invoice_has_no_findings():
    assert check_invoices([make_invoice()], COMPANY) == []


@pytest.mark.parametrize("buyer", ["武汉市车城物流有限公司", "武汉市车城物流有限公司 "])
def test_buyer_name_matches_after_normalising(buyer):
    assert check_invoices([make_invoice(buyer=buyer)], COMPANY) == []


def test_brackets_full_and_half_width_are_the_same_company():
    company = CompanyInfo("聚光科技（杭州）股份有限公司", "91330000734500338C")
    inv = make_invoice(buyer="聚光科技(杭州)股份有限公司", buyer_tax_id="91330000734500338C")
    assert check_invoices([inv], company) == []


def test_personal_title_is_blocked_with_both_reasons():
    findings = check_invoices([make_invoice(buyer="个人", buyer_tax_id=None)], COMPANY)
    assert rule_ids(findings) == ["R5", "R5"]
    assert all(f.severity is Severity.BLOCK for f in findings)
    assert "个人" in findings[0].message_zh and findings[0].evidence["buyer_name"] == "个人"


def test_rail_ticket_is_not_checked_for_buyer_title():
    inv = make_invoice(kind=InvoiceKind.RAIL_PAPER_TICKET, buyer=None, buyer_tax_id=None)
    assert check_invoices([inv], COMPANY) == []


def test_duplicate_in_history_blocks_and_names_the_other_claim():
    seen = {"042001900112:11162913": "BX20260101-0001"}
    findings = check_invoices([make_invoice()], COMPANY, is_duplicate=seen.get)
    assert rule_ids(findings) == ["R3"]
    assert findings[0].evidence["other_claim"] == "BX20260101-0001"


def test_same_invoice_twice_on_one_claim_is_caught_once():
    findings = check_invoices([make_invoice(), make_invoice()], COMPANY)
    assert rule_ids(findings) == ["R3"]


def test_digital_invoice_key_is_the_number_alone():
    inv = make_invoice(number="26342000001798762786", code=None, kind=InvoiceKind.DIGITAL_SPECIAL)
    assert inv.business_key == "26342000001798762786"
    findings = check_invoices([inv], COMPANY, is_duplicate={"26342000001798762786": "BX1"}.get)
    assert rule_ids(findings) == ["R3"]


def test_unreadable_number_warns_and_missing_total_blocks():
    findings = check_invoices([make_invoice(number=None, total=None)], COMPANY)
    assert [(f.rule_id, f.severity) for f in findings] == [("R3", Severity.WARN), ("R4", Severity.BLOCK)]


def test_validation_issues_become_r1_and_r4_findings():
    inv = make_invoice()
    inv.issues.append(ValidationIssue("qr_mismatch.invoice_number", "QR says 11162914",
                                      {"qr": "11162914", "printed": "11162913"}))
    inv.issues.append(ValidationIssue("amount_identity", "173.00 + 17.30 != 190.19"))
    findings = check_invoices([inv], COMPANY)
    assert rule_ids(findings) == ["R1", "R4"]
    r1 = next(f for f in findings if f.rule_id == "R1")
    assert r1.evidence == {"qr": "11162914", "printed": "11162913"} and "invoice_number" in r1.message_en


def test_a_code_mismatching_the_title_blocks_and_a_repaired_one_warns():
    mismatch, repaired = make_invoice(), make_invoice()
    mismatch.issues.append(ValidationIssue("code_region_mismatch", "region 52, title 江苏", {
        "invoice_code": "052002069111", "code_region": "52", "title": "江苏增值税电子普通发票", "title_region": "32"}))
    repaired.issues.append(ValidationIssue("code_region_repaired", "read 052002069111", {
        "invoice_code_read": "052002069111", "invoice_code": "032002069111", "title": "江苏增值税电子普通发票"}))
    [blocked] = [f for f in check_invoices([mismatch], COMPANY) if f.rule_id == "R1"]
    [warned] = [f for f in check_invoices([repaired], COMPANY) if f.rule_id == "R1"]
    assert blocked.severity == Severity.BLOCK and warned.severity == Severity.WARN
    assert "052002069111" in warned.message_en and "032002069111" in warned.message_zh


def test_trip_tables_are_evidence_only():
    assert check_invoices([Invoice(kind=InvoiceKind.TRIP_TABLE)], COMPANY) == []


def _photographed(buyer_tax_id, confidence=0.95):
    inv = make_invoice(buyer_tax_id=None)
    for key, fv in list(inv.fields.items()):
        inv.set(key, fv.value, fv.confidence, FieldSource.OCR)
    if buyer_tax_id:
        inv.set("buyer_tax_id", buyer_tax_id, confidence, FieldSource.OCR)
    return inv


@pytest.mark.parametrize(("tax_id", "confidence"), [(None, 0.95), ("914201007483062451", 0.95),
                                                     ("914201007483O62457X", 0.95), ("91420100MA4KXXXX1X", 0.3)])
def test_a_buyer_tax_id_ocr_could_not_read_goes_to_finance_without_asking_for_a_reissue(tax_id, confidence):
    [f] = check_invoices([_photographed(tax_id, confidence)], COMPANY)
    assert f.rule_id == "R5" and f.severity is Severity.BLOCK
    assert "未能可靠识别" in f.message_zh and "could not be read reliably" in f.message_en
    assert "重开" not in f.message_zh and "reissue" not in f.message_en and f.evidence["reading"] == "unreliable"


def test_another_companys_valid_tax_id_read_clearly_still_asks_for_a_reissue():
    [f] = check_invoices([_photographed("91330000734500338C")], COMPANY)
    assert "重开" in f.message_zh and "reading" not in f.evidence


def test_a_code_from_another_province_than_the_title_blocks_for_a_check_against_the_original():
    inv = make_invoice(code="052002069111", kind=InvoiceKind.VAT_E_NORMAL)
    inv.set("title", "江苏增值税电子普通发票", 0.99, FieldSource.OCR)
    from pipeline.validate import validate_invoice

    validate_invoice(inv)
    [f] = check_invoices([inv], COMPANY)
    assert f.rule_id == "R1" and f.severity is Severity.BLOCK
    assert "052002069111" in f.message_zh and "江苏" in f.message_zh and "misread" in f.message_en
