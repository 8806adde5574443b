"""The same invoice submitted by two employees at the same moment is reimbursable exactly once (R3), on SQLite and
PostgreSQL: two threads, each with its own session, submit at once; the invoice ledger's unique key decides."""

import threading

import pytest
from sqlmodel import select

from api import services
from api.errors import ClaimBlocked
from api.history import DbHistory
from api.tables import Claim, InvoiceLedger, OutboxMessage
from pipeline.claim import ClaimState


def _draft(session_factory, storage_dir, emp_no, data):
    with session_factory() as s:
        [result] = services.upload_files(s, emp_no, [("same.pdf", data)], storage_dir=storage_dir,
                                         max_file_bytes=10**6)
        return services.create_claim(s, emp_no, [result.invoices[0].id], "同一张发票").id


def _submit_at_once(session_factory, claim_ids):
    barrier = threading.Barrier(len(claim_ids))
    outcomes: dict[int, object] = {}

    def run(claim_id):
        with session_factory() as s:
            barrier.wait(timeout=10)
            try:
                outcomes[claim_id] = services.submit_claim(s, claim_id).state
            except ClaimBlocked as exc:
                outcomes[claim_id] = exc

    threads = [threading.Thread(target=run, args=(cid,)) for cid in claim_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


@pytest.mark.parametrize("drafts_visible", [True, False], ids=["drafts-visible", "checks-raced"])
def test_two_employees_submitting_one_invoice_at_once_exactly_one_wins(
        session_factory, org, storage_dir, make_pdf, monkeypatch, drafts_visible):
    # checks-raced: neither check sees the other draft (as if both were created at the same instant), so both
    # checks pass and the ledger's unique key alone must refuse the loser.
    monkeypatch.setattr(DbHistory, "include_drafts", drafts_visible)
    for round_no in range(3):
        number = f"2642200000012345{round_no:04d}"
        data = make_pdf(number, "320.00")
        ids = [_draft(session_factory, storage_dir, emp, data) for emp in ("E001", "E002")]
        outcomes = _submit_at_once(session_factory, ids)
        won = [cid for cid, o in outcomes.items() if o is ClaimState.PENDING_APPROVAL]
        lost = [o for o in outcomes.values() if isinstance(o, ClaimBlocked)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert "R3" in str(lost[0])
        with session_factory() as s:
            holders = {row.claim_id for row in s.exec(select(InvoiceLedger).where(InvoiceLedger.business_key == number))}
            assert holders == set(won)
            loser = next(cid for cid in ids if cid not in won)
            assert s.get(Claim, loser).state is ClaimState.DRAFT
            assert [m.claim_id for m in s.exec(select(OutboxMessage).where(OutboxMessage.claim_id.in_(ids)))] == won
