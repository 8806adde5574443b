"""Routing on submit and the finance review queue (list, filter, open, decide — audited), on both databases."""

from fastapi.testclient import TestClient
from sqlmodel import select

from api import review, services
from api.app import create_app
from api.settings import Settings
from api.tables import AuditLog, Claim, InvoiceLedger, InvoiceRecord, OutboxMessage
from pipeline.claim import ClaimState

NUMBER = "26422000000123456789"


def _claim(session, storage_dir, make_pdf, emp_no="E001", number=NUMBER, item="*餐饮服务*餐费"):
    [result] = services.upload_files(session, emp_no, [("a.pdf", make_pdf(number, item=item))],
                                     storage_dir=storage_dir, max_file_bytes=10**6)
    return services.create_claim(session, emp_no, [result.invoices[0].id], "客户招待")


def test_a_policy_block_routes_to_review_and_approve_sends_it_to_oa(session, storage_dir, make_pdf, policy):
    draft = _claim(session, storage_dir, make_pdf)
    assert "R20" in {f.rule_id for f in draft.findings}  # entertainment without pre-approval: a policy block
    claim = services.submit_claim(session, draft.id)
    assert claim.state is ClaimState.IN_REVIEW
    assert session.exec(select(OutboxMessage)).all() == []
    assert [r.claim_id for r in session.exec(select(InvoiceLedger))] == [claim.id]  # held while in review
    assert [c.id for c in review.review_queue(session, rule_id="R20")] == [claim.id]
    assert review.review_queue(session, rule_id="R9") == []
    assert review.review_queue(session, employee_no="E002") == []
    assert [c.id for c in review.review_queue(session, severity="block", employee_no="E001")] == [claim.id]
    approved = review.decide(session, claim.id, "approve", "事前已口头审批", "F001")
    assert approved.state is ClaimState.PENDING_APPROVAL
    [message] = session.exec(select(OutboxMessage)).all()
    assert message.claim_id == claim.id
    last = session.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (last.from_state, last.to_state, last.actor) == (ClaimState.IN_REVIEW, ClaimState.PENDING_APPROVAL, "F001")
    assert "事前已口头审批" in last.detail


def test_reject_frees_the_invoices_and_return_gives_back_a_draft(session, storage_dir, make_pdf, policy):
    rejected = services.submit_claim(session, _claim(session, storage_dir, make_pdf).id)
    review.decide(session, rejected.id, "reject", "个人消费", "F001")
    assert session.get(Claim, rejected.id).state is ClaimState.REJECTED
    assert session.exec(select(InvoiceLedger)).all() == []
    assert session.exec(select(InvoiceRecord)).one().claim_id is None
    returned = services.submit_claim(session, _claim(session, storage_dir, make_pdf, number="26422000000999999999").id)
    review.decide(session, returned.id, "return", "请补充事前审批单号", "F001")
    assert session.get(Claim, returned.id).state is ClaimState.DRAFT
    assert session.exec(select(InvoiceLedger)).all() == []
    assert services.submit_claim(session, returned.id).state is ClaimState.IN_REVIEW  # may be submitted again


def test_a_clean_claim_goes_straight_to_oa(session, storage_dir, make_pdf, policy, monkeypatch):
    from pipeline.types import Classification
    monkeypatch.setattr("models.category.load_model",
                        lambda path=None: type("M", (), {"classify": lambda self, *a, **k: Classification(
                            "office", 0.99, False, "test")})())
    draft = _claim(session, storage_dir, make_pdf, item="*纸制品*复印纸")
    claim = services.submit_claim(session, draft.id)
    assert claim.state is ClaimState.PENDING_APPROVAL, [f.rule_id for f in claim.findings]


def test_review_endpoints(database_url, storage_dir, make_pdf, policy):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None)
    from tests.api.conftest import ORG
    with TestClient(create_app(settings)) as client:
        with services.Session(client.app.state.engine) as session:
            services.load_org(session, ORG)
            claim = services.submit_claim(session, _claim(session, storage_dir, make_pdf).id)
        listed = client.get("/api/review", params={"rule_id": "R20"}).json()
        assert [item["claim"]["id"] for item in listed] == [claim.id]
        assert listed[0]["evaluation"]["route"] == "finance_review"
        assert "block:R20" in listed[0]["evaluation"]["route_reasons"]
        assert client.get("/api/review", params={"employee_no": "E002"}).json() == []
        opened = client.get(f"/api/review/{claim.id}").json()
        assert opened["claim"]["state"] == "in_review"
        bad = client.post(f"/api/review/{claim.id}/decision", json={"decision": "maybe", "reason": "x", "actor": "F"})
        assert bad.status_code == 422
        done = client.post(f"/api/review/{claim.id}/decision",
                           json={"decision": "reject", "reason": "超标", "actor": "F001"})
        assert done.status_code == 200 and done.json()["state"] == "rejected"
        again = client.post(f"/api/review/{claim.id}/decision",
                            json={"decision": "approve", "reason": "x", "actor": "F001"})
        assert again.status_code == 409
        audit = client.get(f"/api/claims/{claim.id}/audit").json()
        assert audit[-1]["actor"] == "F001" and audit[-1]["to_state"] == "rejected"
