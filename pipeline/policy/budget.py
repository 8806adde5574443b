"""Budget control, the pure part: which budgets a claim draws on, whether it fits, and the state changes.

The API keeps one row per budget (``scope``, ``code``, ``budget``, ``reserved``, ``consumed``) and calls, inside the
claim's transaction, holding the budget rows ``SELECT ... FOR UPDATE`` (in a fixed order: scope, code) so two
submissions cannot both take the last of a budget:

* on submit: ``for b in budget_lines(policy, employee, project)`` load the ``BudgetState``;
  ``finding = check_budget(state, amount, policy.budgets)`` with ``amount`` the claim's payable amount
  (``ClaimEvaluation.amount_payable``: invoices after caps plus allowances — or pass the states to
  ``evaluate_claim(..., budgets=states)``, which does exactly this); a BLOCK finding refuses the submission;
  otherwise store ``reserve(state, amount)`` (a WARN finding is kept with the claim's findings).
* on approval: store ``consume(state, reserved_amount, approved_amount)``; the approved amount may be lower than the
  reservation after caps, the difference goes back to the budget.
* on rejection or withdrawal: store ``release(state, reserved_amount)``.

Each function returns a new ``BudgetState`` and raises ``ValueError`` when the change would make ``reserved`` or
``consumed`` negative (a double release), so a bug cannot silently create budget.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from pipeline.policy.base import finding, money
from pipeline.policy.company import Employee
from pipeline.policy.schema import Budgets, Policy
from pipeline.types import Finding, Severity

ZERO = Decimal("0.00")
_SCOPE_ZH = {"department": "部门", "cost_center": "成本中心", "project": "项目"}


@dataclass(frozen=True)
class BudgetState:
    scope: str  # "department" | "cost_center" | "project"
    code: str
    budget: Decimal
    reserved: Decimal = ZERO  # held by submitted, not yet approved claims
    consumed: Decimal = ZERO  # approved claims

    @property
    def used(self) -> Decimal:
        return self.reserved + self.consumed

    @property
    def available(self) -> Decimal:
        return self.budget - self.used


def budget_lines(policy: Policy, employee: Employee, project: str | None = None) -> list[tuple[str, str, Decimal]]:
    """``(scope, code, annual budget)`` of every budget the claim draws on, in lock order."""
    budgets = policy.budgets
    out = []
    for scope, code in (("cost_center", employee.cost_center), ("department", employee.department),
                        ("project", project)):
        table = getattr(budgets, scope)
        if code and code in table:
            out.append((scope, code, table[code]))
    return sorted(out)


def check_budget(state: BudgetState, amount: Decimal, control: Budgets) -> Finding | None:
    after = state.used + amount
    scope = _SCOPE_ZH.get(state.scope, state.scope)
    evidence = {"scope": state.scope, "code": state.code, "budget": state.budget, "reserved": state.reserved,
                "consumed": state.consumed, "claim_amount": amount, "available": state.available}
    if after > state.budget:
        return finding("BUDGET", Severity(control.over_budget),
                       f"{scope} {state.code} 预算不足：可用 {money(state.available)} 元，本单 {money(amount)} 元",
                       f"The {state.scope.replace('_', ' ')} {state.code} budget is not enough: "
                       f"{money(state.available)} left, this claim needs {money(amount)}.", **evidence)
    if state.budget > 0 and after >= state.budget * control.warn_at:
        share = (after / state.budget * 100).quantize(Decimal(1))
        return finding("BUDGET", Severity.WARN,
                       f"{scope} {state.code} 预算使用将达到 {share}%（{money(after)} / {money(state.budget)} 元）",
                       f"This claim brings the {state.scope.replace('_', ' ')} {state.code} budget to {share}% "
                       f"used ({money(after)} of {money(state.budget)}).", **evidence)
    return None


def _checked(state: BudgetState) -> BudgetState:
    if state.reserved < 0 or state.consumed < 0:
        raise ValueError(f"budget {state.scope}:{state.code} would go negative "
                         f"(reserved {state.reserved}, consumed {state.consumed})")
    return state


def reserve(state: BudgetState, amount: Decimal) -> BudgetState:
    if amount < 0:
        raise ValueError("cannot reserve a negative amount")
    return _checked(replace(state, reserved=state.reserved + amount))


def consume(state: BudgetState, reserved_amount: Decimal, approved_amount: Decimal) -> BudgetState:
    if approved_amount < 0:
        raise ValueError("cannot consume a negative amount")
    return _checked(replace(state, reserved=state.reserved - reserved_amount,
                            consumed=state.consumed + approved_amount))


def release(state: BudgetState, reserved_amount: Decimal) -> BudgetState:
    return _checked(replace(state, reserved=state.reserved - reserved_amount))
