"""The OA contract suite: every adapter against its emulator, over real HTTP on loopback.

Each test runs once per adapter (``oa_emulators.harness.ADAPTERS``). The emulator and a callback receiver (built on
``pipeline.sync.handle_callback``) are served by uvicorn on free ports; faults are switched on per call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from oa_emulators.core import Fault, OutgoingCallback
from oa_emulators.harness import (
    ADAPTERS,
    Harness,
    build_harness,
    callback_app,
    sample_document,
)
from pipeline.sync import DeliveryError, OaAdapter, OaDecision, OutboundMessage

DOC_NO = "BX202603050000042"
TIMEOUT = 2.0  # the adapters' HTTP timeout here; a "timeout" fault answers after TIMEOUT_FAULT seconds
TIMEOUT_FAULT = 3.0


@dataclass
class Oa:
    harness: Harness
    adapter: OaAdapter
    document: dict
    files: dict[str, bytes]
    decisions: list[OaDecision]

    @property
    def emulator(self):
        return self.harness.emulator

    def message(self, attempt: int = 1, document: dict | None = None) -> OutboundMessage:
        document = document or self.document
        return OutboundMessage(message_id=f"msg_{document['doc_no']}", idempotency_key=document["doc_no"],
                               topic="claim.submitted", payload=document,
                               created_at=datetime.now(UTC), attempt=attempt)

    def count(self, doc_no: str = DOC_NO) -> int:
        return self.emulator.store.count(doc_no)

    def only_record(self, doc_no: str = DOC_NO):
        [record] = self.emulator.store.by_doc_no(doc_no)
        return record


@pytest.fixture(params=ADAPTERS)
def oa(request, serve):
    document, files = sample_document(DOC_NO)
    harness = build_harness(request.param, files)
    decisions: list[OaDecision] = []
    with serve(harness.emulator.app) as oa_url:
        adapter = harness.adapter(oa_url, timeout=TIMEOUT)
        with serve(callback_app(adapter, decisions)) as receiver_url:
            harness.emulator.callback_url = receiver_url + "/callback"
            yield Oa(harness, adapter, document, files, decisions)
        adapter.close()


def tampered(outgoing: OutgoingCallback) -> OutgoingCallback:
    """The same callback with one byte changed where the signature covers it."""
    if "timestamp" in outgoing.query:  # WeCom / DingTalk sign the query's timestamp with the ciphertext
        return replace(outgoing, query={**outgoing.query, "timestamp": str(int(outgoing.query["timestamp"]) + 1)})
    return replace(outgoing, body=outgoing.body.replace(b"}", b" }", 1))


# ---------------------------------------------------------------- creating

def test_submit_creates_exactly_one_document_with_its_files(oa):
    result = oa.adapter.submit(oa.message())
    record = oa.only_record()
    assert result.oa_request_id == record.oa_id and result.status == "pending" and not result.deduplicated
    if oa.harness.sends_files:
        assert sorted(data for _, data in record.attachments) == sorted(oa.files.values())
    other, _ = sample_document("BX202603050000043", {})
    oa.adapter.submit(oa.message(document=other))
    assert oa.count() == 1 and oa.count("BX202603050000043") == 1 and len(oa.emulator.store.all()) == 2


@pytest.mark.parametrize("fault", [Fault("timeout", after_commit=True, delay=TIMEOUT_FAULT),
                                   Fault("error", after_commit=True), Fault("malformed", after_commit=True)],
                         ids=["timeout", "5xx", "malformed"])
def test_a_retry_after_an_ambiguous_failure_does_not_duplicate(oa, fault):
    oa.emulator.faults.push("create", fault)
    if oa.harness.name == "generic_webhook" and fault.kind == "malformed":
        oa.adapter.submit(oa.message())  # its contract: any 2xx is delivered, whatever the body
        assert oa.count() == 1
        return
    with pytest.raises(DeliveryError) as first:
        oa.adapter.submit(oa.message(attempt=1))
    assert first.value.retryable
    assert oa.count() == 1  # the OA did create it: only the answer was lost
    retry = oa.adapter.submit(oa.message(attempt=2))
    assert oa.count() == 1
    record = oa.only_record()
    if oa.harness.name == "seeyon":  # no search API: the form's uniqueness check tells, without the id
        assert retry.deduplicated and retry.oa_request_id is None
    else:
        assert retry.oa_request_id == record.oa_id


def attached_hashes(record) -> list[str]:
    return sorted(hashlib.sha256(data).hexdigest() for _, data in record.attachments)


@pytest.mark.parametrize("fault", [Fault("timeout", after_commit=True, delay=TIMEOUT_FAULT),
                                   Fault("error", after_commit=True), Fault("error", status=502)],
                         ids=["create-timeout-after-commit", "create-5xx-after-commit", "create-5xx-before"])
def test_files_arrive_exactly_once_across_create_retries(oa, fault):
    if not oa.harness.sends_files:
        pytest.skip(f"{oa.harness.name} declares no attachment support")
    oa.emulator.faults.push("create", fault)
    with pytest.raises(DeliveryError):
        oa.adapter.submit(oa.message(attempt=1))
    oa.adapter.submit(oa.message(attempt=2))
    assert attached_hashes(oa.only_record()) == sorted(oa.files) and len(oa.files) == 2


@pytest.mark.parametrize("fault", [Fault("error"), Fault("timeout", after_commit=True, delay=TIMEOUT_FAULT),
                                   Fault("malformed", after_commit=True)],
                         ids=["upload-5xx", "upload-timeout-after-commit", "upload-malformed-after-commit"])
def test_files_arrive_exactly_once_when_an_upload_fails(oa, fault):
    if not oa.harness.sends_files:
        pytest.skip(f"{oa.harness.name} declares no attachment support")
    oa.emulator.faults.push("upload", fault)
    try:
        oa.adapter.submit(oa.message(attempt=1))
    except DeliveryError as exc:
        assert exc.retryable and oa.count() == 0
        oa.adapter.submit(oa.message(attempt=2))
    if oa.emulator.calls["upload"] == 0:
        pytest.skip(f"{oa.harness.name} sends its files inside the create request (covered above)")
    assert attached_hashes(oa.only_record()) == sorted(oa.files)


def test_a_retry_after_a_failure_before_the_oa_acted_creates_it(oa):
    oa.emulator.faults.push("create", Fault("error", status=502))
    with pytest.raises(DeliveryError) as first:
        oa.adapter.submit(oa.message(attempt=1))
    assert first.value.retryable and oa.count() == 0
    retry = oa.adapter.submit(oa.message(attempt=2))
    assert oa.count() == 1 and retry.oa_request_id == oa.only_record().oa_id and not retry.deduplicated


def test_a_slow_answer_inside_the_timeout_is_fine(oa):
    oa.emulator.faults.push("create", Fault("slow", delay=0.2))
    assert oa.adapter.submit(oa.message()).oa_request_id == oa.only_record().oa_id


def test_a_malformed_answer_is_a_clear_retryable_error(oa):
    if oa.harness.name == "generic_webhook":
        pytest.skip("the generic webhook contract takes any 2xx as delivered, whatever its body")
    oa.emulator.faults.push("create", Fault("malformed"))
    with pytest.raises(DeliveryError) as info:
        oa.adapter.submit(oa.message())
    assert info.value.retryable and oa.harness.name in str(info.value)
    assert "JSON" in str(info.value) or "not a document" in str(info.value)


def test_a_refusal_by_the_oa_is_permanent(oa):
    oa.emulator.faults.push("create", Fault("reject"))
    with pytest.raises(DeliveryError) as info:
        oa.adapter.submit(oa.message())
    assert not info.value.retryable and oa.count() == 0


def test_an_expired_token_is_renewed_transparently(oa):
    if not oa.harness.has_tokens:
        pytest.skip(f"{oa.harness.name} has no access token")
    oa.adapter.submit(oa.message())
    oa.emulator.expire_tokens()
    second, _ = sample_document("BX202603050000044", {})
    assert oa.adapter.submit(oa.message(document=second)).oa_request_id
    assert oa.count() == 1 and oa.count("BX202603050000044") == 1


def test_a_failing_token_endpoint_is_retryable(oa):
    if not oa.harness.has_tokens:
        pytest.skip(f"{oa.harness.name} has no access token")
    oa.emulator.faults.push("token", Fault("error"))
    with pytest.raises(DeliveryError) as info:
        oa.adapter.submit(oa.message())
    assert info.value.retryable and oa.count() == 0
    assert oa.adapter.submit(oa.message(attempt=2)).oa_request_id and oa.count() == 1


# ---------------------------------------------------------------- status back

def test_status_polling_gives_normalised_decisions(oa):
    if not oa.harness.can_poll:
        pytest.skip(f"{oa.harness.name} has no status API")
    request_id = oa.adapter.submit(oa.message()).oa_request_id
    for raw, expected in oa.harness.statuses:
        oa.emulator.decide(request_id, raw, callback=False)
        decision = oa.adapter.status(request_id)
        assert (decision.decision, decision.oa_request_id) == (expected, request_id), raw
    assert oa.adapter.status("4040404") is None


def test_callbacks_are_verified_and_normalised(oa):
    request_id = oa.adapter.submit(oa.message()).oa_request_id
    for raw, expected in oa.harness.statuses:
        assert oa.emulator.decide(request_id, raw), oa.emulator.callbacks[-1]
        decision = oa.decisions[-1]
        assert decision.decision == expected, raw
        assert decision.oa_request_id == request_id or decision.doc_no == DOC_NO
    assert len(oa.decisions) == len(oa.harness.statuses)


def test_forged_and_tampered_callbacks_are_rejected(oa):
    request_id = oa.adapter.submit(oa.message()).oa_request_id
    record = oa.emulator.set_status(request_id, oa.harness.statuses[0][0])
    assert not oa.emulator.send(oa.harness.forged(record))
    assert oa.emulator.callbacks[-1][0] == 401
    assert not oa.emulator.send(tampered(oa.emulator.build_callback(record)))
    assert oa.emulator.callbacks[-1][0] == 401
    assert oa.decisions == []
    assert oa.emulator.send(oa.emulator.build_callback(record))  # the genuine one still passes


def test_a_lost_callback_is_recovered_by_polling(oa):
    if not oa.harness.can_poll:
        pytest.skip(f"{oa.harness.name} has no status API")
    request_id = oa.adapter.submit(oa.message()).oa_request_id
    raw, expected = oa.harness.statuses[0]
    oa.emulator.faults.push("callback", Fault("drop"))
    assert not oa.emulator.decide(request_id, raw)
    assert oa.decisions == []
    assert oa.adapter.status(request_id).decision == expected


@pytest.mark.parametrize("name", ADAPTERS)
def test_random_faults_leave_every_claim_created_exactly_once(name):
    from oa_emulators.loadcheck import run

    outcome = run(name, claims=12, error=0.35, timeout=0.1, max_attempts=12, client_timeout=0.4, seed=3)
    assert outcome["faults"], "the plan injected no fault: the test would prove nothing"
    assert (outcome["missing"], outcome["duplicated"], outcome["gave_up"]) == (0, 0, 0), outcome
