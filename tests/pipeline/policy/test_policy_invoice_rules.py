from datetime import date
from decimal import Decimal

import pytest

from pipeline.policy import ClaimLine, TravelRequest
from pipeline.types import InvoiceKind, LineItem, Severity

from .policy_helpers import make_invoice, only, vat

MEAL = [LineItem("*餐饮服务*餐费", Decimal("94.34"), "0.06", Decimal("5.66"))]


def meal(day=date(2026, 3, 3), number="26422000000000000001", **kw):
    return vat(number, "100.00", day, items=MEAL, **kw)


def test_a_clean_weekday_meal_has_no_findings(check):
    assert check([ClaimLine(meal(), "local_transport")]) == []


# ---------------------------------------------------------------- R6

def test_r6_receipts_are_blocked(check):
    [f] = only(check([make_invoice(InvoiceKind.RECEIPT, invoice_number="X1", total_incl_tax="50.00")]), "R6")
    assert f.severity is Severity.BLOCK


def test_r6_kind_not_allowed_for_the_category(check):
    taxi = make_invoice(InvoiceKind.TAXI, invoice_code="144001900111", invoice_number="00112233",
                        total_incl_tax="57.00", issue_date=date(2026, 3, 3))
    assert only(check([ClaimLine(taxi, "local_transport")]), "R6") == []
    [f] = only(check([ClaimLine(taxi, "travel.lodging")]), "R6")
    assert f.severity is Severity.WARN and "vat_special" in f.evidence["allowed"]


def test_r6_quota_invoices_above_the_limit(check):
    small = make_invoice(InvoiceKind.QUOTA, invoice_code="153001864058", invoice_number="03555555",
                         total_incl_tax="10.00")
    big = make_invoice(InvoiceKind.QUOTA, invoice_code="153001864058", invoice_number="03555599",
                       total_incl_tax="500.00")
    assert only(check([small]), "R6") == []
    assert [f.evidence["limit"] for f in only(check([big]), "R6")] == ["100.00"]


def test_r6_special_invoice_required_per_policy(check, policy_with, policy_data):
    strict = policy_with(invoice_kinds={**policy_data["invoice_kinds"], "special_required": ["software_it"]})
    assert len(only(check([ClaimLine(meal(), "software_it")], using=strict), "R6")) == 1
    special = meal(kind=InvoiceKind.DIGITAL_SPECIAL)
    assert only(check([ClaimLine(special, "software_it")], using=strict), "R6") == []


# ---------------------------------------------------------------- R11

def test_r11_within_deadline_passes_and_late_warns(check):
    assert only(check([meal(day=date(2026, 2, 10))], submitted_on=date(2026, 3, 12)), "R11") == []
    [f] = only(check([meal(day=date(2026, 2, 2))], submitted_on=date(2026, 3, 12)), "R11")
    assert f.severity is Severity.WARN and f.evidence["days"] == "38"


def test_r11_trip_expenses_count_from_the_trip_end(check):
    trip = TravelRequest(date(2026, 2, 1), date(2026, 2, 20), ("北京",))
    line = ClaimLine(meal(day=date(2026, 2, 2)), "travel.transport")
    assert only(check([line], trip=trip, submitted_on=date(2026, 3, 12)), "R11") == []


def test_r11_cross_year_after_the_cutoff(check):
    old = meal(day=date(2025, 12, 28))
    assert [f.evidence.get("fiscal_year") for f in only(check([old], submitted_on=date(2026, 1, 10)), "R11")] == []
    [f] = only(check([old], submitted_on=date(2026, 1, 20)), "R11")
    assert f.evidence["fiscal_year"] == "2025" and f.evidence["cutoff"] == "2026-01-15"
    older = meal(day=date(2025, 12, 1))
    found = only(check([older], submitted_on=date(2026, 1, 20)), "R11")
    assert [f.evidence.get("fiscal_year") for f in found] == [None, "2025"]  # late, and last year's


def test_r11_a_date_after_submission_is_a_misread(check):
    [f] = only(check([meal(day=date(2026, 4, 1))], submitted_on=date(2026, 3, 12)), "R11")
    assert "2026-04-01" in f.message_en


# ---------------------------------------------------------------- R14 (China's adjusted working days)

@pytest.mark.parametrize(("day", "flagged"), [
    (date(2024, 9, 29), False),  # Sunday, but a 调休 working day
    (date(2025, 10, 8), True),  # Wednesday inside the National Day holiday
    (date(2026, 2, 14), False),  # Saturday working day before the Spring Festival
    (date(2026, 2, 16), True),  # Monday, Spring Festival
    (date(2026, 3, 7), True),  # an ordinary Saturday
    (date(2026, 3, 3), False),  # an ordinary Tuesday
])
def test_r14_domain_vectors(check, day, flagged):
    found = only(check([meal(day=day)], submitted_on=day), "R14")
    assert [f.severity for f in found] == ([Severity.WARN] if flagged else [])


def test_r14_names_the_holiday(check):
    [f] = only(check([meal(day=date(2025, 10, 8))], submitted_on=date(2025, 10, 9)), "R14")
    assert "国庆节" in f.message_zh and f.evidence["day_off"] == "National Day"


def test_r14_year_without_calendar_data_is_one_info(check):
    lines = [meal(day=date(2099, 3, 3)), meal(day=date(2099, 3, 4), number="26422000000000000002")]
    found = only(check(lines, submitted_on=date(2099, 3, 5)), "R14")
    assert [(f.severity, f.evidence["year"]) for f in found] == [(Severity.INFO, "2099")]


def test_r14_is_skipped_inside_a_trip_by_the_policy_condition(check):
    trip = TravelRequest(date(2026, 3, 6), date(2026, 3, 8), ("北京",))
    line = ClaimLine(meal(day=date(2026, 3, 7)), "travel.transport")
    assert only(check([line], trip=trip), "R14") == []


def test_a_rule_can_be_disabled(check, policy_with):
    quiet = policy_with(rules={"R14": {"enabled": False}})
    assert only(check([meal(day=date(2026, 3, 7))], using=quiet), "R14") == []


# ---------------------------------------------------------------- R15

@pytest.mark.parametrize("name", ["*酒*贵州茅台酒", "*卷烟*中华", "*预付卡销售和充值*充值卡", "沃尔玛购物卡",
                                  "*日用杂品*礼品套装"])
def test_r15_personal_items_block(check, name):
    inv = vat("26422000000000000003", "500.00", date(2026, 3, 3), items=[name])
    [f] = only(check([inv]), "R15")
    assert f.severity is Severity.BLOCK and name in f.message_zh


@pytest.mark.parametrize("name", ["*住宿服务*住宿费", "*餐饮服务*烟台海鲜餐费", "*酒店服务*会议室"])
def test_r15_innocent_words_pass(check, name):
    assert only(check([vat("26422000000000000004", "500.00", date(2026, 3, 3), items=[name])]), "R15") == []


def test_r15_welfare_category_is_exempt_by_condition(check):
    inv = vat("26422000000000000005", "500.00", date(2026, 3, 3), items=["*日用杂品*礼品套装"])
    assert only(check([ClaimLine(inv, "welfare")]), "R15") == []


# ---------------------------------------------------------------- R17

def test_r17_goods_list_needed(check):
    listed = vat("26422000000000000006", "800.00", date(2026, 3, 3), items=["(详见销货清单)"])
    lone = vat("26422000000000000007", "300.00", date(2026, 3, 3), items=["*办公用品*办公用品"])
    specific = vat("26422000000000000008", "300.00", date(2026, 3, 3), items=["*纸制品*A4打印纸", "*办公用品*办公用品"])
    assert len(only(check([listed]), "R17")) == 1 and len(only(check([lone]), "R17")) == 1
    assert only(check([specific]), "R17") == []
    assert only(check([ClaimLine(listed, has_goods_list=True)]), "R17") == []


# ---------------------------------------------------------------- R18

def test_r18_rate_must_fit_the_jiancheng(check):
    good = vat("26422000000000000009", "106.00", date(2026, 3, 3),
               items=[LineItem("*餐饮服务*餐费", Decimal("100.00"), "6%", Decimal("6.00"))])
    bad = vat("26422000000000000010", "113.00", date(2026, 3, 3),
              items=[LineItem("*餐饮服务*餐费", Decimal("100.00"), "0.13", Decimal("13.00"))])
    assert only(check([good]), "R18") == []
    [f] = only(check([bad]), "R18")
    assert f.evidence["tax_rate"] == "0.13" and "0.06" in f.evidence["expected"]


def test_r18_toll_not_taxed_is_fine(check):
    toll = make_invoice(InvoiceKind.VAT_E_TOLL, invoice_code="042001900112", invoice_number="11162913",
                        total_incl_tax="190.19", issue_date=date(2026, 3, 3),
                        items=[LineItem("*经营租赁*通行费", Decimal("190.19"), "不征税", Decimal(0))])
    assert only(check([ClaimLine(toll, "vehicle.toll")]), "R18") == []


def test_severity_override_applies_to_non_info_findings(check, policy_with):
    loud = policy_with(rules={"R18": {"severity": "block"}})
    bad = vat("26422000000000000011", "113.00", date(2026, 3, 3),
              items=[LineItem("*餐饮服务*餐费", Decimal("100.00"), "0.13", Decimal("13.00"))])
    assert [f.severity for f in only(check([bad], using=loud), "R18")] == [Severity.BLOCK]
