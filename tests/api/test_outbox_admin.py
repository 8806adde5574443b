"""Dead letters: inspecting and requeueing them (functions and the ``reimburse outbox`` command), and that a
requeued message whose document the OA had in fact created is not created twice. Relay counters too."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from api import outbox_admin, services
from api.cli import main
from api.errors import Conflict, InvalidRequest, NotFound
from api.metrics import OaMetrics
from api.oa_config import build_adapter
from api.relay import RetryPolicy, relay_once
from api.settings import get_settings
from api.tables import Claim, OutboxMessage
from oa_emulators.core import Fault
from oa_emulators.harness import build_harness
from oa_emulators.settings import api_settings
from pipeline.claim import ClaimState
from pipeline.sync.base import OaDecision, SubmitResult

RETRY = RetryPolicy(max_attempts=2, base_seconds=0.01)


@pytest.fixture
def weaver(serve, storage_dir, org):
    harness = build_harness("weaver")
    with ExitStack() as stack:
        url = stack.enter_context(serve(harness.emulator.app))
        adapter = build_adapter(api_settings("weaver", harness.emulator, url, storage_dir=storage_dir,
                                             oa_timeout_seconds=5.0))  # no test here times out on purpose
        stack.callback(adapter.close)
        yield harness.emulator, adapter


def submit(session_factory, storage_dir, make_pdf, number="26422000000123456789") -> Claim:
    with session_factory() as session:
        [upload] = services.upload_files(session, "E001", [(f"{number}.pdf", make_pdf(number))],
                                         storage_dir=storage_dir)
        draft = services.create_claim(session, "E001", [upload.invoices[0].id], "客户招待")
        return services.submit_claim(session, draft.id)


def until_settled(session_factory, adapter, metrics=None) -> None:
    now = datetime.now(UTC)
    for _ in range(10):
        now += timedelta(minutes=1)
        if relay_once(session_factory, adapter, now, retry=RETRY, metrics=metrics) == 0:
            return


def message_of(session_factory, claim_id) -> OutboxMessage:
    with session_factory() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.claim_id == claim_id)).one()


def test_a_dead_letter_whose_document_the_oa_created_is_requeued_without_a_duplicate(
        weaver, session_factory, storage_dir, make_pdf):
    emulator, adapter = weaver
    claim = submit(session_factory, storage_dir, make_pdf)
    # the first create succeeds at the OA but its answer is lost; the look-up before the retry fails too
    emulator.faults.push("create", Fault("error", after_commit=True))
    emulator.faults.push("lookup", Fault("error"))
    metrics = OaMetrics("weaver")
    until_settled(session_factory, adapter, metrics)
    dead = message_of(session_factory, claim.id)
    assert (dead.status, dead.attempts) == ("dead", 2) and emulator.store.count(claim.doc_no) == 1
    with session_factory() as session:
        assert session.get(Claim, claim.id).oa_status == "delivery_failed"
        [row] = outbox_admin.list_messages(session, status="dead")
        assert (row.id, row.doc_no, row.attempts) == (dead.id, claim.doc_no, 2) and "503" in row.last_error
        shown = outbox_admin.show_message(session, dead.id)
        assert shown["claim"]["state"] == "pending_approval" and any("abandoned" in n["detail"]
                                                                     for n in shown["notes"])
        assert outbox_admin.requeue(session, dead.id, actor="ops-li") == [dead.id]
    again = message_of(session_factory, claim.id)
    assert (again.status, again.attempts) == ("pending", 1)
    until_settled(session_factory, adapter, metrics)
    delivered = message_of(session_factory, claim.id)
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert emulator.store.count(claim.doc_no) == 1  # found by look-up, not created again
    [record] = emulator.store.by_doc_no(claim.doc_no)
    with session_factory() as session:
        stored = session.get(Claim, claim.id)
        assert (stored.oa_request_id, stored.oa_status) == (record.oa_id, "pending")
        notes = outbox_admin.show_message(session, dead.id)["notes"]
    assert any("requeued by ops-li" in n["detail"] for n in notes)
    assert any("already had it" in n["detail"] for n in notes)
    counted = {k: metrics.value(f"reimburse_oa_{k}_total", adapter="weaver")
               for k in ("sent", "deduplicated", "failed", "retried", "dead")}
    assert counted == {"sent": 1, "deduplicated": 1, "failed": 2, "retried": 1, "dead": 1}
    assert metrics.value("reimburse_oa_submit_seconds_count", adapter="weaver") == 3


def test_requeue_refusals(weaver, session_factory, storage_dir, make_pdf):
    emulator, adapter = weaver
    first = submit(session_factory, storage_dir, make_pdf, "26422000000000000001")
    second = submit(session_factory, storage_dir, make_pdf, "26422000000000000002")
    emulator.faults.push("create", Fault("error"), times=4)
    until_settled(session_factory, adapter)
    a, b = message_of(session_factory, first.id), message_of(session_factory, second.id)
    assert a.status == b.status == "dead"
    with session_factory() as session:
        services.apply_oa_decision(session, OaDecision("withdrawn", claim_id=first.id))
    with session_factory() as session:
        with pytest.raises(Conflict, match="already withdrawn"):
            outbox_admin.requeue(session, a.id)
        assert outbox_admin.requeue(session, all_dead=True) == [b.id]  # the decided claim's message stays dead
    until_settled(session_factory, adapter)
    assert message_of(session_factory, second.id).status == "delivered"
    with session_factory() as session:
        with pytest.raises(Conflict, match="only dead or pending"):
            outbox_admin.requeue(session, b.id)
        with pytest.raises(NotFound):
            outbox_admin.requeue(session, 999_999)
        with pytest.raises(InvalidRequest):
            outbox_admin.requeue(session)
        with pytest.raises(InvalidRequest):
            outbox_admin.list_messages(session, status="lost")


def test_the_outbox_command(weaver, session_factory, storage_dir, make_pdf, database_url, monkeypatch, capsys):
    emulator, adapter = weaver
    claim = submit(session_factory, storage_dir, make_pdf)
    emulator.faults.push("create", Fault("error"), times=2)
    until_settled(session_factory, adapter)
    dead = message_of(session_factory, claim.id)
    monkeypatch.setenv("REIMBURSE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["outbox", "list", "--status", "dead", "--json"]) == 0
        [listed] = json.loads(capsys.readouterr().out)
        assert (listed["id"], listed["status"], listed["doc_no"]) == (dead.id, "dead", claim.doc_no)
        assert main(["outbox", "show", str(dead.id)]) == 0
        assert json.loads(capsys.readouterr().out)["claim"]["doc_no"] == claim.doc_no
        assert main(["outbox", "requeue", "--all-dead"]) == 0
        assert f"requeued 1 message(s): {dead.id}" in capsys.readouterr().out
        assert main(["outbox", "requeue", str(dead.id)]) == 0  # pending now: "try now" is allowed
        capsys.readouterr()
        until_settled(session_factory, adapter)
        assert main(["outbox", "requeue", str(dead.id)]) == 2
        assert "only dead or pending" in capsys.readouterr().err
        assert main(["outbox", "list"]) == 0
        assert "delivered" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert emulator.store.count(claim.doc_no) == 1
    with session_factory() as session:
        assert session.get(Claim, claim.id).state is ClaimState.PENDING_APPROVAL


class SlowOa:
    name = "slow"

    def __init__(self):
        self.sent: list[str] = []

    def submit(self, message):
        self.sent.append(message.payload["doc_no"])
        time.sleep(0.3)
        return SubmitResult(f"R-{len(self.sent)}", "pending")


def test_a_relay_starts_no_delivery_once_most_of_its_lease_has_gone(session_factory, storage_dir, make_pdf, org):
    for n in range(3):
        submit(session_factory, storage_dir, make_pdf, f"2642200000000000000{n}")
    oa, now = SlowOa(), datetime.now(UTC) + timedelta(seconds=1)
    short = RetryPolicy(lease_seconds=0.5)  # 0.4 s of it may be used: two deliveries of 0.3 s
    assert relay_once(session_factory, oa, now, retry=short) == 2
    with session_factory() as session:
        statuses = sorted(m.status for m in session.exec(select(OutboxMessage)))
    assert statuses == ["delivered", "delivered", "sending"] and len(oa.sent) == 2
    assert relay_once(session_factory, oa, now, retry=short) == 0  # still leased
    assert relay_once(session_factory, oa, now + timedelta(seconds=1), retry=short) == 1
    assert len(oa.sent) == 3
