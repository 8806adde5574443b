"""Budget control through the API services: reserve on submit, consume on approval, release on rejection, block
or warn per policy; on both databases."""

from decimal import Decimal

import pytest
import yaml
from sqlmodel import select

from api import budgets, policy_service, review, services
from api.errors import ClaimBlocked
from api.policy_tables import BudgetAccount
from pipeline.policy import policy_from_dict
from pipeline.sync.base import OaDecision
from tests.api.conftest import POLICY_FILE


def _policy(cost_center_budget: str, over_budget: str = "block"):
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    data["budgets"] = {"warn_at": "0.9", "over_budget": over_budget, "cost_center": {"CC1001": cost_center_budget}}
    policy = policy_from_dict(data)
    policy_service.set_policy(policy)
    return policy


def _submitted(session, storage_dir, make_pdf, number, total="106.00", emp_no="E001"):
    [result] = services.upload_files(session, emp_no, [(f"{number}.pdf", make_pdf(number, total))],
                                     storage_dir=storage_dir, max_file_bytes=10**6)
    return services.submit_claim(session, services.create_claim(session, emp_no, [result.invoices[0].id], "r").id)


def _account(session):
    session.expire_all()
    return session.exec(select(BudgetAccount).where(BudgetAccount.code == "CC1001")).one()


def test_reserve_consume_release(session, storage_dir, make_pdf):
    budgets.sync_accounts(session, _policy("1000.00"))
    first = _submitted(session, storage_dir, make_pdf, "26422000000100000001", "106.00")
    second = _submitted(session, storage_dir, make_pdf, "26422000000200000001", "200.00")
    account = _account(session)
    assert (account.reserved, account.consumed) == (Decimal("306.00"), Decimal("0.00"))
    review.decide(session, first.id, "approve", "ok", "F001")
    services.apply_oa_decision(session, OaDecision("approved", doc_no=first.doc_no))
    account = _account(session)
    assert (account.reserved, account.consumed) == (Decimal("200.00"), Decimal("106.00"))
    review.decide(session, second.id, "reject", "no", "F001")
    account = _account(session)
    assert (account.reserved, account.consumed) == (Decimal("0.00"), Decimal("106.00"))
    services.apply_oa_decision(session, OaDecision("rejected", doc_no=first.doc_no))  # after approval: ignored
    assert _account(session).consumed == Decimal("106.00")


def test_over_budget_blocks_the_submission(session, storage_dir, make_pdf):
    budgets.sync_accounts(session, _policy("300.00"))
    _submitted(session, storage_dir, make_pdf, "26422000000100000001", "200.00")
    with pytest.raises(ClaimBlocked, match="BUDGET"):
        _submitted(session, storage_dir, make_pdf, "26422000000200000001", "200.00")
    assert _account(session).reserved == Decimal("200.00")  # the refused claim reserved nothing


def test_over_budget_only_warns_when_the_policy_says_so(session, storage_dir, make_pdf):
    budgets.sync_accounts(session, _policy("300.00", over_budget="warn"))
    _submitted(session, storage_dir, make_pdf, "26422000000100000001", "200.00")
    claim = _submitted(session, storage_dir, make_pdf, "26422000000200000001", "200.00")
    assert [(f.rule_id, f.severity) for f in claim.findings if f.rule_id == "BUDGET"] == [("BUDGET", "warn")]
    assert _account(session).reserved == Decimal("400.00")


def test_sync_updates_amounts_and_keeps_usage(session, storage_dir, make_pdf):
    budgets.sync_accounts(session, _policy("1000.00"))
    _submitted(session, storage_dir, make_pdf, "26422000000100000001", "106.00")
    budgets.sync_accounts(session, _policy("2000.00"))
    account = _account(session)
    assert (account.budget, account.reserved) == (Decimal("2000.00"), Decimal("106.00"))
