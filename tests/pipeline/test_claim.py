"""The claim state machine and totals."""

from decimal import Decimal
from itertools import product

import pytest

from pipeline.claim import (
    ClaimState as S, InvalidTransition, can_transition, claim_total, is_terminal, total_upper, transition,
)

ALLOWED = {
    (S.DRAFT, S.SUBMITTED), (S.DRAFT, S.WITHDRAWN),
    (S.SUBMITTED, S.PENDING_APPROVAL), (S.SUBMITTED, S.IN_REVIEW),
    (S.IN_REVIEW, S.PENDING_APPROVAL), (S.IN_REVIEW, S.REJECTED), (S.IN_REVIEW, S.DRAFT), (S.IN_REVIEW, S.WITHDRAWN),
    (S.PENDING_APPROVAL, S.APPROVED), (S.PENDING_APPROVAL, S.REJECTED), (S.PENDING_APPROVAL, S.WITHDRAWN),
}


@pytest.mark.parametrize("current,target", list(product(S, S)))
def test_exactly_the_listed_transitions_are_allowed(current, target):
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
        assert can_transition(current, target)
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(current, target)
        assert info.value.current is current and info.value.target is target
        assert current.value in str(info.value) and target.value in str(info.value)


def test_transition_accepts_stored_string_values():
    assert transition("draft", "submitted") is S.SUBMITTED


def test_terminal_states():
    assert {s for s in S if is_terminal(s)} == {S.APPROVED, S.REJECTED, S.WITHDRAWN}


def test_total_is_exact_and_two_decimals():
    assert claim_total([Decimal("0.10"), Decimal("0.20"), Decimal("0.30")]) == Decimal("0.60")
    assert str(claim_total([])) == "0.00"
    assert str(claim_total([Decimal("106"), Decimal("-30.99")])) == "75.01"


@pytest.mark.parametrize("bad,error", [(0.1, TypeError), ("0.10", TypeError), (Decimal("0.105"), ValueError)])
def test_total_refuses_floats_and_unrounded_lines(bad, error):
    with pytest.raises(error):
        claim_total([Decimal("1.00"), bad])


@pytest.mark.parametrize("amount,upper", [
    ("1409.50", "壹仟肆佰零玖圆伍角整"), ("16409.02", "壹万陆仟肆佰零玖圆零贰分"),
    ("0.05", "伍分"), ("100", "壹佰圆整"),
])
def test_total_upper(amount, upper):
    assert total_upper(Decimal(amount)) == upper
