"""The claim (报销单) state machine and its money totals. Pure: no database, no clock.

Contract:
* ``ClaimState`` is the one internal status set. ``TRANSITIONS`` lists every allowed move; ``transition(current,
  target)`` returns ``target`` or raises ``InvalidTransition``. Terminal states (approved, rejected, withdrawn)
  allow no move; staying in the same state is not a transition and is refused too, so callers decide explicitly
  how to treat a repeat (the OA callback treats it as a harmless duplicate).
* ``claim_total(amounts)`` sums line amounts exactly (each must already be fen-exact, floats refused);
  ``total_upper(total)`` is its 大写, always recomputed from the final number (DOMAIN §4, §8.3).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal

from pipeline.money import FEN, to_upper


class ClaimState(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # frozen by the employee, being handed to the OA
    IN_REVIEW = "in_review"  # routed to the finance review queue; finance approves (-> OA), rejects or returns
    PENDING_APPROVAL = "pending_approval"  # announced to the OA (outbox written), waiting for its decision
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    ClaimState.DRAFT: frozenset({ClaimState.SUBMITTED, ClaimState.WITHDRAWN}),
    ClaimState.SUBMITTED: frozenset({ClaimState.PENDING_APPROVAL, ClaimState.IN_REVIEW}),
    # "return" sends the claim back to its employee as a draft to correct.
    ClaimState.IN_REVIEW: frozenset({ClaimState.PENDING_APPROVAL, ClaimState.REJECTED, ClaimState.DRAFT,
                                     ClaimState.WITHDRAWN}),
    ClaimState.PENDING_APPROVAL: frozenset({ClaimState.APPROVED, ClaimState.REJECTED, ClaimState.WITHDRAWN}),
    ClaimState.APPROVED: frozenset(),
    ClaimState.REJECTED: frozenset(),
    ClaimState.WITHDRAWN: frozenset(),
}

# States whose invoices are free again: they may go on another claim.
RELEASED_STATES = frozenset({ClaimState.REJECTED, ClaimState.WITHDRAWN})


class InvalidTransition(Exception):
    code = "invalid_transition"

    def __init__(self, current: ClaimState, target: ClaimState):
        self.current, self.target = ClaimState(current), ClaimState(target)
        super().__init__(f"a claim in state '{self.current.value}' cannot move to '{self.target.value}'")


def can_transition(current: ClaimState, target: ClaimState) -> bool:
    return ClaimState(target) in TRANSITIONS[ClaimState(current)]


def transition(current: ClaimState, target: ClaimState) -> ClaimState:
    if not can_transition(current, target):
        raise InvalidTransition(current, target)
    return ClaimState(target)


def is_terminal(state: ClaimState) -> bool:
    return not TRANSITIONS[ClaimState(state)]


def claim_total(amounts: Iterable[Decimal]) -> Decimal:
    total = Decimal("0.00")
    for amount in amounts:
        if not isinstance(amount, Decimal):
            raise TypeError(f"line amounts must be Decimal, got {type(amount).__name__}")
        if amount != amount.quantize(FEN):
            raise ValueError(f"line amount {amount} is not fen-exact; round it once, at line level")
        total += amount
    return total.quantize(FEN)


def total_upper(total: Decimal) -> str:
    return to_upper(total)


__all__ = ["ClaimState", "InvalidTransition", "RELEASED_STATES", "TRANSITIONS", "can_transition", "claim_total",
           "is_terminal", "total_upper", "transition"]
