from datetime import date, datetime
from decimal import Decimal

from pipeline.policy import ClaimLine, InMemoryHistory, duplicate_keys
from pipeline.types import InvoiceKind, LineItem, Severity

from .policy_helpers import make_invoice, only, vat

RESTAURANT = {"seller": "武汉某酒楼有限公司", "seller_tax_id": "91420106MA4K8RE57X"}


def dinner(number, total, day=date(2026, 3, 3), **kw):
    fields = {**RESTAURANT, **kw}
    return vat(number, total, day, items=["*餐饮服务*餐费"], **fields)


def paper_rail(**fields):
    return make_invoice(InvoiceKind.RAIL_PAPER_TICKET, invoice_number="C045758", total_incl_tax="520.00",
                        depart_datetime=datetime(2026, 3, 2, 8, 5), train_no="G80", seat_no="05车12A号", **fields)


def e_rail(**fields):
    return make_invoice(InvoiceKind.RAIL_E_TICKET, invoice_number="26429000000000000201", total_incl_tax="520.00",
                        issue_date=date(2026, 3, 5), depart_datetime=datetime(2026, 3, 2, 8, 5), train_no="G80",
                        seat_no="05车12A号", e_ticket_no="E123456789", **fields)


# ---------------------------------------------------------------- R3

def test_keys_are_normalised_across_formats():
    pdf = dinner("26422000000000000001", "100.00")
    full_width = "\u3000".join("".join(chr(ord(c) + 0xFEE0) for c in part)  # as some OFD text layers
                               for part in ("2642200000", "0000000001"))
    ofd = dinner(full_width, "100.00")
    assert duplicate_keys(pdf) == duplicate_keys(ofd) == ["26422000000000000001"]


def test_r3_same_seat_on_paper_ticket_and_e_invoice_is_one_expense(check):
    [f] = only(check([paper_rail(), e_rail()]), "R3")
    assert f.severity is Severity.BLOCK and f.evidence["invoice_key"].startswith("seat:G80:202603020805")


def test_r3_e_ticket_number_held_by_another_claim(check):
    history = InMemoryHistory()
    paper_itinerary = make_invoice(InvoiceKind.AIR_PAPER_ITINERARY, invoice_number="1234567890",
                                   e_ticket_no="784 1234567890", total_incl_tax="1100.00",
                                   depart_datetime=datetime(2026, 3, 2, 9, 0))
    history.add(paper_itinerary, "BX20260305000007", "E002")
    digital = make_invoice(InvoiceKind.AIR_E_ITINERARY, invoice_number="26429000000000000301",
                           e_ticket_no="7841234567890", total_incl_tax="1100.00", issue_date=date(2026, 3, 5),
                           depart_datetime=datetime(2026, 3, 2, 9, 0))
    [f] = only(check([digital], history=history), "R3")
    assert f.evidence == {"invoice_key": "ticket:7841234567890", "other_claim": "BX20260305000007"}
    assert "电子客票号" in f.message_zh


def test_r3_released_claims_free_their_invoices(check):
    history = InMemoryHistory()
    history.add(dinner("26422000000000000001", "100.00"), "BX1", "E002")
    assert len(only(check([dinner("26422000000000000001", "100.00")], history=history), "R3")) == 1
    history.release("BX1")
    assert only(check([dinner("26422000000000000001", "100.00")], history=history), "R3") == []


def test_r3_the_claim_being_rechecked_does_not_collide_with_itself(check):
    history = InMemoryHistory(exclude_claim="BX9")
    history.add(dinner("26422000000000000001", "100.00"), "BX9", "E001")
    assert only(check([dinner("26422000000000000001", "100.00")], history=history, claim_no="BX9"), "R3") == []


def test_r3_agency_invoice_for_the_same_fare_blocks(check):
    itinerary = make_invoice(InvoiceKind.AIR_E_ITINERARY, invoice_number="26429000000000000301",
                             total_incl_tax="1100.00", issue_date=date(2026, 3, 5))
    agency = vat("26312000000000000401", "1100.00", date(2026, 3, 1), items=["*经纪代理服务*代订机票"],
                 seller="上海某旅行社有限公司", seller_tax_id="91310000MA1FL0TA1X")
    fee = vat("26312000000000000402", "30.00", date(2026, 3, 1), items=["*经纪代理服务*代订机票服务费"],
              seller="上海某旅行社有限公司", seller_tax_id="91310000MA1FL0TA1X")
    [f] = [f for f in only(check([itinerary, agency]), "R3") if "agency_amount" in f.evidence]
    assert f.severity is Severity.BLOCK
    assert [f for f in only(check([itinerary, fee]), "R3") if "agency_amount" in f.evidence] == []


# ---------------------------------------------------------------- R12 splitting

def test_r12_three_times_1980_on_one_day_vs_2000(check):
    lines = [dinner(f"2642200000000000010{n}", "1980.00") for n in range(3)]
    [f] = only(check([ClaimLine(ln, "entertainment", attendees=6, pre_approval="ZD-1") for ln in lines]), "R12")
    assert f.severity is Severity.WARN and f.evidence["threshold"] == "5000.00"  # 5,940 also dodges the 5,000 level
    assert f.evidence["total"] == "5940.00" and f.evidence["amounts"] == "1980.00, 1980.00, 1980.00"


def test_r12_across_claimants_via_history(check):
    history = InMemoryHistory()
    history.add(dinner("26422000000000000201", "1900.00"), "BX20260303000001", "E002")
    history.add(dinner("26422000000000000202", "900.00", day=date(2026, 1, 3)), "BX20260103000001", "E003")
    [f] = only(check([dinner("26422000000000000203", "1500.00", day=date(2026, 3, 4))], history=history), "R12")
    assert f.evidence["claimants"] == "E001, E002" and f.evidence["threshold"] == "2000.00"
    assert "BX20260303000001" in f.evidence["claims"] and "2 位报销人" in f.message_zh


def test_r12_ordinary_meals_pass(check):
    lines = [dinner("26422000000000000301", "180.00"), dinner("26422000000000000302", "220.00")]
    assert only(check(lines), "R12") == []
    far = [dinner("26422000000000000303", "1980.00"), dinner("26422000000000000304", "1980.00", day=date(2026, 3, 9))]
    assert only(check(far), "R12") == []


# ---------------------------------------------------------------- R13 sequential numbers

def test_r13_near_consecutive_legacy_numbers_same_code_other_claimant(check):
    history = InMemoryHistory()
    history.add(dinner("00345678", "300.00", invoice_code="042002100104", kind=InvoiceKind.VAT_NORMAL),
                "BX20260301000002", "E002")
    mine = dinner("00345681", "300.00", invoice_code="042002100104", kind=InvoiceKind.VAT_NORMAL)
    [f] = only(check([mine], history=history), "R13")
    assert f.evidence["near_numbers"] == "00345678" and f.evidence["claimants"] == "E002"
    other_code = dinner("00345681", "300.00", invoice_code="042002100199", kind=InvoiceKind.VAT_NORMAL)
    assert only(check([other_code], history=history), "R13") == []


def test_r13_within_one_claim_and_far_numbers_pass(check):
    a, b = dinner("26422000000000000501", "300.00"), dinner("26422000000000000503", "300.00")
    [f] = only(check([a, b]), "R13")
    assert f.invoice_key == "26422000000000000503"
    far = dinner("26422000000000000599", "300.00")
    assert only(check([a, far]), "R13") == []


def test_r13_rail_tickets_are_not_checked(check):
    t1 = e_rail()
    t2 = make_invoice(InvoiceKind.RAIL_E_TICKET, invoice_number="26429000000000000202", total_incl_tax="520.00",
                      issue_date=date(2026, 3, 5), seller_tax_id="91100000000017838X")
    assert only(check([t1, t2]), "R13") == []


def test_history_lookup_is_by_seller_and_date():
    history = InMemoryHistory()
    history.add(dinner("26422000000000000601", "10.00", day=date(2026, 1, 1)), "BX1")
    history.add(dinner("26422000000000000602", "10.00", day=date(2026, 3, 1)), "BX2")
    history.add(vat("26422000000000000603", "10.00", date(2026, 3, 1), items=[LineItem("*餐饮服务*餐费")]), "BX3")
    rows = history.invoices_from_seller("91420106MA4K8RE57X", date(2026, 2, 1))
    assert [r.claim_no for r in rows] == ["BX2"] and rows[0].amount == Decimal("10.00")


def test_a_claim_rule_condition_sees_the_claim(check, policy_with):
    lines = [dinner(f"2642200000000000080{n}", "1980.00") for n in range(3)]
    quiet = policy_with(rules={"R12": {"when": "amount > 10000"}})  # the claim is 5,940
    assert only(check(lines, using=quiet), "R12") == []
    assert len(only(check(lines, using=policy_with(rules={"R12": {"when": "amount > 5000"}})), "R12")) == 1


def test_near_number_lookup_and_release():
    history = InMemoryHistory()
    history.add(dinner("26422000000000000900", "10.00"), "BX1", "E002")
    history.add(dinner("26422000000000000950", "10.00"), "BX2", "E002")
    seller = "91420106MA4K8RE57X"
    assert [p.claim_no for p in history.invoices_near_number(seller, None, "26422000000000000903", 5)] == ["BX1"]
    assert list(history.invoices_near_number(seller, None, "26422000000000000900", 5)) == []  # not its own neighbour
    history.release("BX1")
    assert list(history.invoices_near_number(seller, None, "26422000000000000903", 5)) == []
