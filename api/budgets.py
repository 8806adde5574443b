"""Budget control in the database (the pure part is ``pipeline.policy.budget``).

One ``BudgetAccount`` row per budget of the policy (``budgets.department`` / ``cost_center`` / ``project``);
``sync_accounts(session, policy)`` creates missing rows and updates the annual amounts (reserved and consumed money
stay). Inside the submitting transaction:

* ``lock_accounts(session, policy, employee, project) -> list[(BudgetAccount, BudgetState)]``: the budgets the claim
  draws on, read ``SELECT ... FOR UPDATE`` in (scope, code) order, so two submissions cannot both take the last of
  a budget (SQLite serialises writers anyway);
* ``reserve_claim(session, claim_id, accounts, amount)``: on submit, after ``evaluate_claim`` found no refusing
  budget finding;
* ``consume_claim(session, claim_id)``: on approval; ``release_claim(session, claim_id)``: on rejection, withdrawal
  or return to the employee. Both are no-ops for a claim without reservations, and never release twice.
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from api.columns import utcnow
from api.policy_tables import BudgetAccount, ClaimBudget
from pipeline.policy import budget as pure
from pipeline.policy.company import Employee as PolicyEmployee
from pipeline.policy.schema import Policy

Accounts = list[tuple[BudgetAccount, pure.BudgetState]]


def _state(account: BudgetAccount) -> pure.BudgetState:
    return pure.BudgetState(scope=account.scope, code=account.code, budget=account.budget,
                            reserved=account.reserved, consumed=account.consumed)


def _store(account: BudgetAccount, state: pure.BudgetState) -> None:
    account.reserved, account.consumed, account.updated_at = state.reserved, state.consumed, utcnow()


def sync_accounts(session: Session, policy: Policy) -> None:
    existing = {(a.scope, a.code): a for a in session.exec(select(BudgetAccount))}
    for scope in ("department", "cost_center", "project"):
        for code, amount in getattr(policy.budgets, scope).items():
            account = existing.get((scope, code))
            if account is None:
                session.add(BudgetAccount(scope=scope, code=code, budget=amount))
            elif account.budget != amount:
                account.budget, account.updated_at = amount, utcnow()
    session.commit()


def lock_accounts(session: Session, policy: Policy, employee: PolicyEmployee, project: str | None,
                  *, for_update: bool = True) -> Accounts:
    out: Accounts = []
    for scope, code, amount in pure.budget_lines(policy, employee, project):
        query = select(BudgetAccount).where(BudgetAccount.scope == scope, BudgetAccount.code == code)
        account = session.exec(query.with_for_update() if for_update else query).first()
        if account is None:  # the policy names a budget sync_accounts has not stored yet
            account = BudgetAccount(scope=scope, code=code, budget=amount)
            session.add(account)
            session.flush()
        out.append((account, _state(account)))
    return out


def reserve_claim(session: Session, claim_id: int, accounts: Accounts, amount: Decimal) -> None:
    for account, state in accounts:
        _store(account, pure.reserve(state, amount))
        session.add(ClaimBudget(claim_id=claim_id, account_id=account.id, amount=amount))
    session.flush()


def _held(session: Session, claim_id: int, state: str) -> list[tuple[ClaimBudget, BudgetAccount]]:
    rows = session.exec(select(ClaimBudget, BudgetAccount)
                        .join(BudgetAccount, col(BudgetAccount.id) == ClaimBudget.account_id)
                        .where(ClaimBudget.claim_id == claim_id, ClaimBudget.state == state)
                        .order_by(col(BudgetAccount.scope), col(BudgetAccount.code)).with_for_update())
    return list(rows)


def consume_claim(session: Session, claim_id: int, approved: Decimal | None = None) -> None:
    """``approved`` (default: the reserved amount) is consumed; the rest of the reservation goes back."""
    for held, account in _held(session, claim_id, "reserved"):
        _store(account, pure.consume(_state(account), held.amount, held.amount if approved is None else approved))
        held.state = "consumed"
    session.flush()


def release_claim(session: Session, claim_id: int) -> None:
    for held, account in _held(session, claim_id, "reserved"):
        _store(account, pure.release(_state(account), held.amount))
        session.delete(held)
    session.flush()


def reservations(session: Session, claim_id: int) -> list[tuple[ClaimBudget, BudgetAccount]]:
    return list(session.exec(select(ClaimBudget, BudgetAccount)
                             .join(BudgetAccount, col(BudgetAccount.id) == ClaimBudget.account_id)
                             .where(ClaimBudget.claim_id == claim_id)))
