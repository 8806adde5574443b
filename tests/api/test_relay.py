"""The outbox relay delivering to a real HTTP receiver on loopback (the demo OA served by uvicorn)."""

import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from api import services
from api.app import create_app
from api.oa_receiver import DemoOa, create_receiver_app
from api.relay import RetryPolicy, relay_once
from api.settings import Settings
from api.tables import AuditLog, Claim, OutboxMessage
from pipeline.claim import ClaimState
from pipeline.sync.base import OaDecision, SubmitResult
from pipeline.sync.generic_webhook import GenericWebhookAdapter
from pipeline.sync.webhook import generate_secret

NUMBER = "26422000000123456789"


@pytest.fixture
def demo_oa() -> DemoOa:
    return DemoOa(webhook_secret=generate_secret())


@pytest.fixture
def receiver_url(demo_oa, serve):
    with serve(create_receiver_app(demo_oa)) as url:
        yield url + "/webhook"


@pytest.fixture
def adapter(demo_oa, receiver_url):
    adapter = GenericWebhookAdapter(receiver_url, demo_oa.webhook_secret, timeout=5)
    yield adapter
    adapter.close()


@pytest.fixture
def t0(claim) -> datetime:
    """A moment just after the claim's message was queued (the relay is always given its clock)."""
    return datetime.now(UTC) + timedelta(seconds=1)


@pytest.fixture
def claim(session, storage_dir, make_pdf) -> Claim:
    [result] = services.upload_files(session, "E001", [("a.pdf", make_pdf(NUMBER))], storage_dir=storage_dir)
    draft = services.create_claim(session, "E001", [result.invoices[0].id], "客户招待")
    return services.submit_claim(session, draft.id)


def test_backoff_doubles_with_jitter_and_is_capped():
    policy, rng = RetryPolicy(base_seconds=2, max_seconds=60), random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (20, 60)]:
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(set(delays)) > 1
    settings = Settings(relay_max_attempts=4, relay_backoff_base_seconds=3, relay_lease_seconds=30)
    assert RetryPolicy.from_settings(settings) == RetryPolicy(4, 3, 3600, 30)


def outbox(session_factory) -> OutboxMessage:
    with session_factory() as s:
        return s.exec(select(OutboxMessage)).one()


def stored_claim(session_factory, claim_id) -> Claim:
    with session_factory() as s:
        return s.get(Claim, claim_id)


def test_delivers_once_and_records_the_oa_request(t0, session_factory, claim, adapter, demo_oa):
    assert relay_once(session_factory, adapter, t0) == 1
    message = outbox(session_factory)
    assert (message.status, message.attempts, message.last_error) == ("delivered", 1, None)
    assert message.delivered_at == t0
    stored = stored_claim(session_factory, claim.id)
    assert (stored.oa_request_id, stored.oa_status, stored.state) == ("OA000001", "pending",
                                                                     ClaimState.PENDING_APPROVAL)
    [approval] = demo_oa.approvals
    assert approval.document["doc_no"] == claim.doc_no and approval.idempotency_key == str(claim.id)
    assert relay_once(session_factory, adapter, t0 + timedelta(days=1)) == 0
    assert demo_oa.deliveries == 1


def test_server_errors_are_retried_with_backoff_and_delivered_once(t0, session_factory, claim, adapter, demo_oa):
    demo_oa.fail_next = 2
    retry = RetryPolicy(base_seconds=10, max_attempts=5)
    assert relay_once(session_factory, adapter, t0, retry=retry) == 1
    first = outbox(session_factory)
    assert (first.status, first.attempts) == ("pending", 1) and "HTTP 500" in first.last_error
    assert t0 + timedelta(seconds=5) <= first.next_attempt_at <= t0 + timedelta(seconds=10)
    assert relay_once(session_factory, adapter, first.next_attempt_at - timedelta(seconds=1), retry=retry) == 0

    assert relay_once(session_factory, adapter, first.next_attempt_at, retry=retry) == 1
    second = outbox(session_factory)
    assert second.attempts == 2 and second.status == "pending"
    backoff = second.next_attempt_at - first.next_attempt_at
    assert timedelta(seconds=10) <= backoff <= timedelta(seconds=20)  # doubled

    assert relay_once(session_factory, adapter, second.next_attempt_at, retry=retry) == 1
    done = outbox(session_factory)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 3, None)
    assert demo_oa.deliveries == 3 and len(demo_oa.approvals) == 1
    assert stored_claim(session_factory, claim.id).oa_request_id == "OA000001"


def test_dead_letter_after_max_attempts(t0, session_factory, claim, adapter, demo_oa):
    demo_oa.fail_next = 100
    retry = RetryPolicy(base_seconds=1, max_attempts=3)
    now = t0
    for _ in range(3):
        assert relay_once(session_factory, adapter, now, retry=retry) == 1
        now += timedelta(hours=1)
    message = outbox(session_factory)
    assert (message.status, message.attempts) == ("dead", 3) and "HTTP 500" in message.last_error
    assert relay_once(session_factory, adapter, now + timedelta(days=30), retry=retry) == 0
    stored = stored_claim(session_factory, claim.id)
    assert stored.state is ClaimState.PENDING_APPROVAL and stored.oa_status == "delivery_failed"
    with session_factory() as s:
        note = s.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert note.actor == "relay" and "3 attempts" in note.detail and "HTTP 500" in note.detail


def test_a_refusal_is_dead_at_once(t0, session_factory, claim, receiver_url, demo_oa):
    wrong_secret = GenericWebhookAdapter(receiver_url, generate_secret())  # the OA answers 401
    assert relay_once(session_factory, wrong_secret, t0) == 1
    message = outbox(session_factory)
    assert (message.status, message.attempts) == ("dead", 1) and "HTTP 401" in message.last_error
    assert demo_oa.approvals == []


def test_an_unreachable_oa_is_retried(t0, session_factory, claim, demo_oa, serve):
    with serve(create_receiver_app(demo_oa)) as url:
        pass  # the port is closed again now
    adapter = GenericWebhookAdapter(url + "/webhook", demo_oa.webhook_secret, timeout=2)
    assert relay_once(session_factory, adapter, t0) == 1
    message = outbox(session_factory)
    assert message.status == "pending" and "could not reach" in message.last_error


def test_a_message_left_sending_by_a_dead_relay_is_taken_again_after_its_lease(t0, session_factory, claim, adapter,
                                                                              demo_oa):
    with session_factory() as s:
        message = s.exec(select(OutboxMessage)).one()
        message.status, message.attempts = "sending", 1
        message.next_attempt_at = t0 + timedelta(seconds=300)  # the lease the crashed relay took
        s.commit()
    assert relay_once(session_factory, adapter, t0) == 0
    assert relay_once(session_factory, adapter, t0 + timedelta(seconds=300)) == 1
    assert (outbox(session_factory).status, outbox(session_factory).attempts) == ("delivered", 2)


class DecidesBeforeAnswering:
    """An OA whose callback lands before its answer to the delivery (the order is not guaranteed)."""

    name = "test"

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def submit(self, message):
        with self.session_factory() as s:
            services.apply_oa_decision(s, OaDecision("approved", claim_id=int(message.idempotency_key),
                                                     oa_request_id="R9"))
        return SubmitResult("R9", "pending")


def test_an_earlier_decision_is_not_overwritten_by_the_delivery_answer(t0, session_factory, claim):
    assert relay_once(session_factory, DecidesBeforeAnswering(session_factory), t0) == 1
    stored = stored_claim(session_factory, claim.id)
    assert (stored.state, stored.oa_status, stored.oa_request_id) == (ClaimState.APPROVED, "approved", "R9")
    assert outbox(session_factory).status == "delivered"


class Crashes:
    name = "buggy"

    def submit(self, message):
        raise KeyError("bug in adapter")


def test_an_adapter_bug_is_retried_not_fatal(t0, session_factory, claim):
    assert relay_once(session_factory, Crashes(), t0) == 1
    message = outbox(session_factory)
    assert message.status == "pending" and "KeyError" in message.last_error


@pytest.mark.postgres
def test_postgres_relays_skip_rows_another_relay_has_locked(t0, claim, session_factory, adapter, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is the PostgreSQL path")
    with session_factory() as holder:
        holder.exec(select(OutboxMessage).with_for_update()).one()  # another relay is mid-claim
        assert relay_once(session_factory, adapter, t0) == 0
    assert relay_once(session_factory, adapter, t0) == 1


def test_full_loop_submit_deliver_callback_approve(database_url, org, storage_dir, make_pdf, serve):
    """App and OA both on loopback HTTP, the relay thread started by the app's lifespan."""
    callback_secret = generate_secret()
    oa = DemoOa(webhook_secret=generate_secret(), callback_secret=callback_secret)
    with serve(create_receiver_app(oa)) as oa_url:
        settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None,
                            oa_webhook_url=oa_url + "/webhook", oa_webhook_secret=oa.webhook_secret,
                            oa_callback_secret=callback_secret, relay_enabled=True, relay_poll_seconds=0.05)
        with serve(create_app(settings)) as app_url:
            oa.callback_url = app_url + "/api/oa/callback"
            with httpx.Client(base_url=app_url, timeout=10) as client:
                uploaded = client.post("/api/employees/E001/uploads",
                                       files=[("files", ("a.pdf", make_pdf(NUMBER)))])
                invoice_id = uploaded.json()[0]["invoices"][0]["id"]
                created = client.post("/api/claims", json={"employee_no": "E001", "invoice_ids": [invoice_id],
                                                           "reason": "客户招待"}).json()
                assert client.post(f"/api/claims/{created['id']}/submit").json()["state"] == "pending_approval"
                for _ in range(200):
                    body = client.get(f"/api/claims/{created['id']}").json()
                    if body["state"] == "approved":
                        break
                    time.sleep(0.05)
    assert (body["state"], body["oa_request_id"], body["oa_status"]) == ("approved", "OA000001", "approved")
    assert [a.decision for a in oa.approvals] == ["approved"] and oa.deliveries == 1
