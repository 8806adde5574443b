"""Uploads, claims, submission (with its outbox message) and OA decisions, on both database backends."""

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from api import services
from api.document import claim_document
from api.history import DbHistory
from api.errors import ClaimBlocked, Conflict, InvalidRequest, NotFound
from api.tables import (
    AuditLog, Claim, Company, Employee, FindingRecord, InvoiceLedger, InvoiceRecord, OutboxMessage, StoredFile,
)
from pipeline.claim import ClaimState, InvalidTransition
from pipeline.sync.base import OaDecision
from pipeline.types import Extraction

NUMBER_A = "26422000000123456789"
NUMBER_B = "26422000000123456790"


def upload(session, storage_dir, emp_no, *files):
    return services.upload_files(session, emp_no, list(files), storage_dir=storage_dir, max_file_bytes=10**6)


def upload_invoice_ids(session, storage_dir, emp_no, *pdfs) -> list[int]:
    results = upload(session, storage_dir, emp_no, *[(f"inv{n}.pdf", pdf) for n, pdf in enumerate(pdfs)])
    return [inv.id for r in results for inv in r.invoices]


def submitted_claim(session, storage_dir, make_pdf, emp_no="E001", number=NUMBER_A, total="106.00") -> Claim:
    ids = upload_invoice_ids(session, storage_dir, emp_no, make_pdf(number, total))
    claim = services.create_claim(session, emp_no, ids, "客户招待")
    return services.submit_claim(session, claim.id, emp_no)


# ---------------------------------------------------------------- organisation

def test_load_org_is_an_upsert(session, org):
    changed = {**org, "employees": [{**org["employees"][0], "name": "张三丰", "grade": "G3_manager"}]}
    services.load_org(session, changed)
    services.load_org(session, changed)
    assert len(session.exec(select(Company)).all()) == 1
    employees = {e.emp_no: e for e in session.exec(select(Employee))}
    assert set(employees) == {"E001", "E002"}
    e001 = employees["E001"]
    assert (e001.name, e001.grade, e001.department_name, e001.cost_center) == ("张三丰", "G3_manager", "运输部",
                                                                              "CC1001")


def test_the_shipped_demo_org_file_loads(session):
    company = services.load_org(session, services.read_org_file(
        Path(__file__).resolve().parents[2] / "samples" / "org" / "company.yaml"))
    assert len(company.tax_id) == 18 and services.get_employee(session, "E001").company_id == company.id


# ---------------------------------------------------------------- uploads

def test_upload_stores_the_file_and_its_classified_invoice(session, storage_dir, make_pdf):
    data = make_pdf(NUMBER_A, "106.00")
    [result] = upload(session, storage_dir, "E001", ("dinner.pdf", data))
    assert result.error is None and result.media_type == "application/pdf"
    stored = result.file
    assert (storage_dir / stored.path).read_bytes() == data
    [record] = result.invoices
    assert record.business_key == NUMBER_A and record.total == Decimal("106.00")
    assert record.kind == "digital_normal" and record.category and record.model_version
    assert record.data["fields"]["total_incl_tax"] == "106.00"
    assert record.data["fields"]["buyer_name"] == "武汉市车城物流有限公司"


def test_uploading_the_same_bytes_again_returns_the_first_result(session, storage_dir, make_pdf, monkeypatch):
    data = make_pdf(NUMBER_A)
    [first] = upload(session, storage_dir, "E001", ("a.pdf", data))
    monkeypatch.setattr("pipeline.runner.extract_bytes", lambda *a, **k: pytest.fail("extracted twice"))
    [again] = upload(session, storage_dir, "E001", ("renamed.pdf", data))
    assert again.file.id == first.file.id and [i.id for i in again.invoices] == [i.id for i in first.invoices]
    assert len(session.exec(select(InvoiceRecord)).all()) == 1


def test_the_same_file_from_two_employees_is_two_uploads_sharing_one_blob(session, storage_dir, make_pdf):
    data = make_pdf(NUMBER_A)
    [a] = upload(session, storage_dir, "E001", ("a.pdf", data))
    [b] = upload(session, storage_dir, "E002", ("b.pdf", data))
    assert a.file.id != b.file.id and a.file.path == b.file.path


def test_unreadable_and_unsupported_files_come_back_with_an_error(session, storage_dir):
    results = upload(session, storage_dir, "E001", ("blank.pdf", b"%PDF-1.4\nno invoice here"),
                     ("notes.txt", b"just some text"), ("empty.pdf", b""))
    assert results[0].error == "no invoice found in this file" and results[0].invoices == []
    assert results[0].file.extraction_error == results[0].error
    assert results[1].file is None and "not supported" in results[1].error
    assert results[2].file is None and "empty" in results[2].error
    assert len(session.exec(select(StoredFile)).all()) == 1


def test_a_file_that_failed_is_extracted_again_on_re_upload(session, storage_dir, make_pdf, monkeypatch,
                                                            fake_extraction):
    data = make_pdf(NUMBER_A)
    monkeypatch.setattr("pipeline.runner.extract_bytes",
                        lambda name, data: Extraction(name, None, error="OCR engine not installed"))
    [failed] = upload(session, storage_dir, "E001", ("a.pdf", data))
    assert failed.error == "OCR engine not installed" and failed.invoices == []
    monkeypatch.setattr("pipeline.runner.extract_bytes", fake_extraction)
    [again] = upload(session, storage_dir, "E001", ("a.pdf", data))
    assert again.file.id == failed.file.id and again.error is None and len(again.invoices) == 1


def test_upload_for_unknown_employee_is_not_found(session, storage_dir, make_pdf):
    with pytest.raises(NotFound):
        upload(session, storage_dir, "E999", ("a.pdf", make_pdf(NUMBER_A)))


# ---------------------------------------------------------------- claims

def test_create_claim_totals_lines_and_checks(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A, "106.00"),
                             make_pdf(NUMBER_B, "0.10"))
    claim = services.create_claim(session, "E001", list(reversed(ids)), "  客户招待  ")
    assert claim.state is ClaimState.DRAFT and claim.reason == "客户招待"
    assert claim.doc_no.startswith("BX") and len(claim.doc_no) == 16 and claim.doc_no.endswith(f"{claim.id:06d}")
    assert claim.total == Decimal("106.10") and claim.total_upper == "壹佰零陆圆壹角整"
    assert [(line.line_no, line.invoice_id, line.amount) for line in claim.lines] == [
        (1, ids[1], Decimal("0.10")), (2, ids[0], Decimal("106.00"))]
    assert claim.findings == []  # clean invoices made out to the company
    assert {r.claim_id for r in session.exec(select(InvoiceRecord))} == {claim.id}
    [audit] = session.exec(select(AuditLog)).all()
    assert (audit.from_state, audit.to_state, audit.actor) == (None, ClaimState.DRAFT, "E001")


def test_a_trip_table_is_attached_as_evidence_but_never_counted(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A, "46.62", item="*运输服务*客运服务费"),
                             make_pdf("", "46.62", kind="trip_table"))
    claim = services.create_claim(session, "E001", ids, "市内交通")
    assert [line.invoice_id for line in claim.lines] == [ids[0]] and claim.total == Decimal("46.62")
    assert [r.id for r in claim.attachments] == ids
    assert claim_document(claim, claim.employee.company)["attachment_count"] == 2
    with pytest.raises(InvalidRequest, match="trip table"):
        services.create_claim(session, "E002", upload_invoice_ids(
            session, storage_dir, "E002", make_pdf("", "10.00", kind="trip_table")), "r")


def test_findings_are_stored_against_their_invoice(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A, buyer="别的公司"))
    claim = services.create_claim(session, "E001", ids, "r")
    [finding] = claim.findings
    assert (finding.rule_id, finding.severity, finding.invoice_id) == ("R5", "block", ids[0])
    assert finding.evidence["buyer_name"] == "别的公司"


def test_the_audit_log_is_append_only(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A))
    services.create_claim(session, "E001", ids, "r")
    entry = session.exec(select(AuditLog)).one()
    entry.detail = "rewritten"
    with pytest.raises(PermissionError):
        session.commit()
    session.rollback()
    session.delete(session.exec(select(AuditLog)).one())
    with pytest.raises(PermissionError):
        session.commit()


def test_document_takes_reduce_findings_into_the_approved_amount(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A, "650.00", item="*住宿服务*住宿费"),
                             make_pdf(NUMBER_B, "106.00"))
    claim = services.create_claim(session, "E001", ids, "出差")
    session.add(FindingRecord(claim_id=claim.id, invoice_id=ids[0], rule_id="R9", severity="reduce",
                              message_zh="超标", message_en="over the cap", suggested_amount=Decimal("500.00")))
    session.commit()
    session.refresh(claim)
    doc = claim_document(claim, claim.employee.company)
    assert (doc["amount_claimed"], doc["amount_approved"], doc["amount_payable"]) == ("756.00", "606.00", "606.00")
    assert doc["amount_upper"] == "陆佰零陆圆整"
    assert [(line["amount"], line["amount_approved"]) for line in doc["lines"]] == [
        ("650.00", "500.00"), ("106.00", "106.00")]
    assert doc["lines"][0]["findings"][0]["rule_id"] == "R9"


def test_claim_refuses_foreign_missing_repeated_and_taken_invoices(session, storage_dir, make_pdf):
    [mine] = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A))
    [theirs] = upload_invoice_ids(session, storage_dir, "E002", make_pdf(NUMBER_B))
    with pytest.raises(NotFound):
        services.create_claim(session, "E001", [mine, theirs], "r")
    with pytest.raises(NotFound):
        services.create_claim(session, "E001", [mine + 1000], "r")
    with pytest.raises(InvalidRequest):
        services.create_claim(session, "E001", [mine, mine], "r")
    with pytest.raises(InvalidRequest):
        services.create_claim(session, "E001", [mine], "   ")
    first = services.create_claim(session, "E001", [mine], "r")
    with pytest.raises(Conflict, match=first.doc_no):
        services.create_claim(session, "E001", [mine], "r")


def test_an_invoice_taken_by_a_concurrent_claim_is_not_attached_twice(session, session_factory, storage_dir,
                                                                      make_pdf, monkeypatch):
    [invoice_id] = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A))
    assign = services._assign_doc_no
    raced = []

    def concurrent_request_first(session, claim):  # another request attaches the invoice meanwhile
        if not raced:
            raced.append(True)
            with session_factory() as other:
                raced.append(services.create_claim(other, "E001", [invoice_id], "other").doc_no)
        assign(session, claim)

    monkeypatch.setattr(services, "_assign_doc_no", concurrent_request_first)
    with pytest.raises(Conflict, match="just put on another claim"):
        services.create_claim(session, "E001", [invoice_id], "mine")
    with session_factory() as fresh:
        [claim] = fresh.exec(select(Claim)).all()
        assert claim.doc_no == raced[1] and [r.claim_id for r in fresh.exec(select(InvoiceRecord))] == [claim.id]


def test_duplicate_invoice_across_employees_blocks_the_second_claim(session, storage_dir, make_pdf):
    data = make_pdf(NUMBER_A)
    first = services.create_claim(session, "E001", upload_invoice_ids(session, storage_dir, "E001", data), "r")
    second = services.create_claim(session, "E002", upload_invoice_ids(session, storage_dir, "E002", data), "r")
    [finding] = second.findings
    assert (finding.rule_id, finding.severity) == ("R3", "block")
    assert finding.evidence == {"invoice_key": NUMBER_A, "other_claim": first.doc_no}
    with pytest.raises(ClaimBlocked, match="already on claim"):
        services.submit_claim(session, second.id)
    assert session.get(Claim, second.id).state is ClaimState.DRAFT
    assert session.exec(select(OutboxMessage)).all() == []


def test_a_rejected_claim_frees_its_invoices(session, storage_dir, make_pdf):
    data = make_pdf(NUMBER_A)
    first = services.create_claim(session, "E001", upload_invoice_ids(session, storage_dir, "E001", data), "r")
    services.submit_claim(session, first.id)
    second = services.create_claim(session, "E002", upload_invoice_ids(session, storage_dir, "E002", data), "r")
    assert [f.rule_id for f in second.findings] == ["R3"]
    services.apply_oa_decision(session, OaDecision("rejected", doc_no=first.doc_no, comment="超标"))
    assert session.exec(select(InvoiceLedger)).all() == []
    resubmitted = services.submit_claim(session, second.id)  # the checks run again at submission
    assert resubmitted.state is ClaimState.PENDING_APPROVAL and resubmitted.findings == []
    # ... and the employee whose claim was rejected may put the same invoice on a new claim only once it is free
    [old_record] = upload(session, storage_dir, "E001", ("again.pdf", data))[0].invoices
    assert old_record.claim_id is None


def test_the_ledger_refuses_a_second_submission_that_raced_past_the_checks(session, storage_dir, make_pdf,
                                                                           monkeypatch):
    data = make_pdf(NUMBER_A)
    monkeypatch.setattr(DbHistory, "claim_holding", lambda *args: None)  # both checks ran "at once"
    first = services.create_claim(session, "E001", upload_invoice_ids(session, storage_dir, "E001", data), "r")
    second = services.create_claim(session, "E002", upload_invoice_ids(session, storage_dir, "E002", data), "r")
    services.submit_claim(session, first.id)
    with pytest.raises(ClaimBlocked, match="R3"):
        services.submit_claim(session, second.id)
    session.expire_all()
    assert session.get(Claim, second.id).state is ClaimState.DRAFT
    assert [m.claim_id for m in session.exec(select(OutboxMessage))] == [first.id]


# ---------------------------------------------------------------- submission

def test_submit_moves_to_pending_approval_with_audit_and_outbox(session, storage_dir, make_pdf):
    claim = submitted_claim(session, storage_dir, make_pdf)
    assert claim.state is ClaimState.PENDING_APPROVAL
    audit = session.exec(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(a.from_state, a.to_state) for a in audit] == [
        (None, ClaimState.DRAFT), (ClaimState.DRAFT, ClaimState.SUBMITTED),
        (ClaimState.SUBMITTED, ClaimState.PENDING_APPROVAL)]
    [message] = session.exec(select(OutboxMessage)).all()
    assert (message.claim_id, message.idempotency_key, message.status, message.attempts) == (
        claim.id, str(claim.id), "pending", 0)
    assert message.message_id.startswith("msg_") and message.topic == "claim.submitted"
    assert [row.business_key for row in session.exec(select(InvoiceLedger))] == [NUMBER_A]


def test_the_outbox_payload_is_the_canonical_document(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E002", make_pdf(NUMBER_A, "106.00"),
                             make_pdf(NUMBER_B, "1303.40", item="*住宿服务*住宿费"))
    claim = services.submit_claim(session, services.create_claim(session, "E002", ids, "赴北京客户现场实施").id)
    doc = session.exec(select(OutboxMessage)).one().payload
    assert doc["doc_no"] == claim.doc_no and doc["claim_id"] == claim.id
    assert doc["applicant"] == {"emp_no": "E002", "name": "李四"}
    assert doc["dept"] == {"code": "D01", "name": "运输部"} and doc["cost_center"] == "CC1009"
    assert doc["company"] == {"name": "武汉市车城物流有限公司", "tax_id": "914201007483062457"}
    assert (doc["amount_claimed"], doc["amount_approved"], doc["amount_payable"]) == ("1409.40",) * 3
    assert doc["loan_offset"] == "0.00" and doc["currency"] == "CNY"
    assert doc["amount_upper"] == "壹仟肆佰零玖圆肆角整"
    assert doc["attachment_count"] == 2 and doc["reason"] == "赴北京客户现场实施"
    first = doc["lines"][0]
    assert first["line_no"] == 1 and first["amount"] == "106.00" and first["amount_ex_tax"] == "100.00"
    assert first["tax"] == "6.00" and first["tax_rate"] == "0.06"
    assert first["invoice"]["number"] == NUMBER_A and first["invoice"]["date"] == "2026-03-05"
    assert first["invoice"]["buyer_tax_id"] == "914201007483062457" and len(first["invoice"]["file_sha256"]) == 64
    assert doc["lines"][1]["amount"] == "1303.40"


def test_a_failure_mid_submit_leaves_neither_state_nor_outbox(session, session_factory, storage_dir, make_pdf,
                                                              monkeypatch):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A))
    claim_id = services.create_claim(session, "E001", ids, "r").id

    def explode(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "claim_document", explode)  # after the state change, before the outbox row
    with pytest.raises(RuntimeError):
        services.submit_claim(session, claim_id)
    session.rollback()
    with session_factory() as fresh:
        assert fresh.get(Claim, claim_id).state is ClaimState.DRAFT
        assert fresh.exec(select(OutboxMessage)).all() == []
        assert fresh.exec(select(InvoiceLedger)).all() == []
        assert len(fresh.exec(select(AuditLog)).all()) == 1  # only "created"


def test_submit_twice_is_an_invalid_transition(session, storage_dir, make_pdf):
    claim = submitted_claim(session, storage_dir, make_pdf)
    with pytest.raises(InvalidTransition):
        services.submit_claim(session, claim.id)
    assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_blocked_submission_keeps_fresh_findings(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A, buyer_tax_id="91110000000000000X"))
    claim = services.create_claim(session, "E001", ids, "r")
    with pytest.raises(ClaimBlocked):
        services.submit_claim(session, claim.id)
    assert [f.rule_id for f in session.exec(select(FindingRecord))] == ["R5"]


# ---------------------------------------------------------------- OA decisions

@pytest.mark.parametrize("decision,state,ledger", [
    ("approved", ClaimState.APPROVED, ["reimbursed"]), ("rejected", ClaimState.REJECTED, []),
    ("withdrawn", ClaimState.WITHDRAWN, []),
])
def test_decision_moves_the_claim(session, storage_dir, make_pdf, decision, state, ledger):
    claim = submitted_claim(session, storage_dir, make_pdf)
    updated, changed = services.apply_oa_decision(
        session, OaDecision(decision, doc_no=claim.doc_no, oa_request_id="OA1", comment="意见"))
    assert changed and updated.state is state and updated.oa_status == decision and updated.oa_request_id == "OA1"
    assert [row.state for row in session.exec(select(InvoiceLedger))] == ledger
    last = session.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (last.from_state, last.to_state, last.actor, last.detail) == (
        ClaimState.PENDING_APPROVAL, state, "oa", "意见")


def test_duplicate_decision_is_harmless(session, storage_dir, make_pdf):
    claim = submitted_claim(session, storage_dir, make_pdf)
    services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id))
    audit_rows = len(session.exec(select(AuditLog)).all())
    again, changed = services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id))
    assert not changed and again.state is ClaimState.APPROVED
    assert len(session.exec(select(AuditLog)).all()) == audit_rows


def test_contradicting_late_decision_is_ignored_and_noted(session, storage_dir, make_pdf):
    claim = submitted_claim(session, storage_dir, make_pdf)
    services.apply_oa_decision(session, OaDecision("approved", doc_no=claim.doc_no))
    late, changed = services.apply_oa_decision(session, OaDecision("rejected", doc_no=claim.doc_no, comment="迟到"))
    assert not changed and late.state is ClaimState.APPROVED
    note = session.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (note.from_state, note.to_state) == (ClaimState.APPROVED, ClaimState.APPROVED)
    assert "ignored" in note.detail and "rejected" in note.detail and "迟到" in note.detail


def test_decision_for_a_draft_is_an_invalid_transition(session, storage_dir, make_pdf):
    ids = upload_invoice_ids(session, storage_dir, "E001", make_pdf(NUMBER_A))
    claim = services.create_claim(session, "E001", ids, "r")
    with pytest.raises(InvalidTransition):
        services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id))


def test_decision_naming_an_unknown_or_mismatched_claim(session, storage_dir, make_pdf):
    claim = submitted_claim(session, storage_dir, make_pdf)
    with pytest.raises(NotFound):
        services.apply_oa_decision(session, OaDecision("approved", doc_no="BX000"))
    with pytest.raises(NotFound):
        services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id + 99))
    with pytest.raises(Conflict):
        services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id, doc_no="BX000"))
    services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id, oa_request_id="OA1"))
    with pytest.raises(Conflict):
        services.apply_oa_decision(session, OaDecision("approved", claim_id=claim.id, oa_request_id="OA2"))
