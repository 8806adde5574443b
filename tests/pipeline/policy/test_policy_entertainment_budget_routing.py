from datetime import date
from decimal import Decimal

import pytest

from pipeline.policy import (
    BudgetState, ClaimLine, Route, budget_lines, check_budget, consume, release, reserve, route, routing_reasons,
)
from pipeline.policy.schema import Budgets, Routing
from pipeline.types import Classification, FieldSource, Finding, Severity

from .policy_helpers import make_invoice, only, vat


def banquet(total="1800.00", number="26422000000000000701"):
    return vat(number, total, date(2026, 3, 3), items=["*餐饮服务*餐费"])


# ---------------------------------------------------------------- R20

def test_r20_approved_event_within_per_head_cap(check):
    assert only(check([ClaimLine(banquet(), "entertainment", attendees=6, pre_approval="ZD-1")]), "R20") == []


def test_r20_no_pre_approval_blocks_and_no_guest_count_warns(check):
    found = only(check([ClaimLine(banquet(), "entertainment")]), "R20")
    assert [f.severity for f in found] == [Severity.BLOCK, Severity.WARN]


def test_r20_per_head_over_cap_reduces(check):
    found = only(check([ClaimLine(banquet("1800.00"), "entertainment", attendees=4, pre_approval="ZD-2")]), "R20")
    [f] = [f for f in found if f.severity is Severity.REDUCE]
    assert f.suggested_amount == Decimal("1200.00") and f.evidence["per_head"] == "450.00"


@pytest.mark.parametrize(("total", "approver"), [("6000.00", "ceo"), ("4000.00", "vp")])
def test_r20_approver_level_above_the_first(check, total, approver):
    found = only(check([ClaimLine(banquet(total), "entertainment", attendees=20, pre_approval="ZD-3")]), "R20")
    assert [(f.severity, f.evidence.get("approver")) for f in found] == [(Severity.INFO, approver)]


def test_r20_only_for_entertainment(check):
    assert only(check([ClaimLine(banquet(), "welfare")]), "R20") == []


# ---------------------------------------------------------------- budget

CONTROL = Budgets(warn_at=Decimal("0.9"), over_budget="block")


def test_budget_fits_warns_near_the_limit_and_blocks_over_it():
    state = BudgetState("department", "D01", Decimal("10000.00"), Decimal("2000.00"), Decimal("6000.00"))
    assert check_budget(state, Decimal("500.00"), CONTROL) is None
    near = check_budget(state, Decimal("1000.00"), CONTROL)
    assert near.severity is Severity.WARN and near.evidence["available"] == "2000.00"
    over = check_budget(state, Decimal("2000.01"), CONTROL)
    assert over.rule_id == "BUDGET" and over.severity is Severity.BLOCK
    assert check_budget(state, Decimal("2000.01"), Budgets(over_budget="warn")).severity is Severity.WARN


def test_budget_reserve_consume_release_cycle():
    state = BudgetState("project", "P2026-07", Decimal("80000.00"))
    held = reserve(state, Decimal("3000.00"))
    assert (held.reserved, held.available) == (Decimal("3000.00"), Decimal("77000.00"))
    approved = consume(held, Decimal("3000.00"), Decimal("2800.00"))  # capped on approval: 200 goes back
    assert (approved.reserved, approved.consumed, approved.available) == (0, Decimal("2800.00"),
                                                                         Decimal("77200.00"))
    assert release(held, Decimal("3000.00")) == state
    with pytest.raises(ValueError):
        release(state, Decimal("1.00"))  # a double release cannot create budget


def test_budget_lines_for_an_employee_and_project(policy, org):
    lines = budget_lines(policy, org.employee("E001"), "P2026-07")
    assert lines == [("cost_center", "CC1001", Decimal("150000.00")), ("department", "D01", Decimal("200000.00")),
                     ("project", "P2026-07", Decimal("80000.00"))]


def test_evaluate_claim_adds_budget_findings(check):
    state = BudgetState("department", "D01", Decimal("200000.00"), consumed=Decimal("199900.00"))
    ev = check([banquet("150.00")], evaluate=True, budgets=[state])
    [f] = only(ev.findings, "BUDGET")
    assert f.severity is Severity.BLOCK and ev.route is Route.FINANCE_REVIEW


# ---------------------------------------------------------------- routing

def test_clean_claims_go_to_oa():
    inv = banquet()
    assert route([], [inv]) is Route.OA and route([], [inv]) == "oa"


def test_blocks_low_confidence_and_abstentions_go_to_finance():
    inv = banquet()
    block = Finding("R5", Severity.BLOCK, "x", "x")
    assert routing_reasons([block], [inv]) == ["block:R5"]
    blurry = make_invoice(invoice_number="26422000000000000702", total_incl_tax="88.00", confidence=0.6)
    assert routing_reasons([], [blurry])[0].startswith("low_confidence:26422000000000000702:")
    assert route([], [blurry], settings=Routing(min_field_confidence=0.5)) is Route.OA
    unsure = Classification("office", 0.41, True, "v1")
    assert routing_reasons([], [inv], [unsure]) == ["abstained:26422000000000000701:office"]
    assert route([Finding("R9", Severity.REDUCE, "x", "x", suggested_amount=Decimal(1))], [inv]) is Route.OA
    assert route([Finding("R10", Severity.REDUCE, "x", "x")], [inv]) is Route.FINANCE_REVIEW


def test_a_seller_tax_id_read_with_low_confidence_goes_to_finance():
    """An OCR repair of the seller's ID (confidence <= 0.5) must reach a person: the ID is one of the five key
    fields, and a wrong valid ID would otherwise pass every check."""
    inv = banquet()
    inv.set("seller_tax_id", "91420100MA4KXXXX1X", 0.3, FieldSource.OCR)
    reasons = routing_reasons([], [inv])
    assert len(reasons) == 1 and reasons[0].endswith(":seller_tax_id=0.30")
    assert route([], [inv], settings=Routing(key_fields=["invoice_number"])) is Route.OA


def test_evaluate_claim_amounts_and_route(check):
    ev = check([ClaimLine(banquet("1800.00"), "entertainment", attendees=4, pre_approval="ZD-2")], evaluate=True)
    assert (ev.amount_claimed, ev.amount_after_caps) == (Decimal("1800.00"), Decimal("1200.00"))
    assert ev.route is Route.OA and ev.allowances == []
