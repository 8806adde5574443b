"""Every adapter wired into the app from settings, end to end over loopback HTTP: a submitted claim is relayed to
the adapter's emulator, the emulator calls the app back the way that OA does, and only final decisions move the
claim. Duplicate, late and out-of-order callbacks change nothing; URL checks are answered; forgeries refused."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from api import services
from api.app import create_app
from api.relay import relay_once
from api.tables import AuditLog, Claim, OutboxMessage
from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from oa_emulators.harness import ADAPTERS, Harness, build_harness
from oa_emulators.settings import adapter_name, api_settings
from pipeline.claim import ClaimState

NUMBER = "26422000000123456789"


@dataclass
class Wired:
    name: str
    harness: Harness
    app: object
    app_url: str
    engine: object

    @property
    def emulator(self) -> OaEmulator:
        return self.harness.emulator

    def session(self) -> Session:
        return Session(self.engine)

    def raw(self, wanted: str) -> str:
        """The emulator's raw status code that normalises to ``wanted``."""
        return next(raw for raw, normal in self.harness.statuses if normal == wanted)

    def send(self, outgoing: OutgoingCallback) -> httpx.Response:
        return httpx.request(outgoing.method, self.app_url + "/api/oa/callback", params=outgoing.query or None,
                             headers=outgoing.headers, content=outgoing.body, timeout=10)


@pytest.fixture(params=ADAPTERS)
def wired(request, database_url, org, storage_dir, serve):
    harness = build_harness(request.param)
    with serve(harness.emulator.app) as oa_url:
        settings = api_settings(request.param, harness.emulator, oa_url, database_url=database_url,
                                storage_dir=storage_dir, org_file=None, oa_timeout_seconds=5)
        app = create_app(settings)
        with serve(app) as app_url:
            harness.emulator.callback_url = app_url + "/api/oa/callback"
            yield Wired(request.param, harness, app, app_url, app.state.engine)


def submitted_and_relayed(wired: Wired, storage_dir, make_pdf, number: str = NUMBER) -> tuple[Claim, Record]:
    with wired.session() as session:
        [upload] = services.upload_files(session, "E001", [(f"{number}.pdf", make_pdf(number))],
                                         storage_dir=storage_dir)
        draft = services.create_claim(session, "E001", [upload.invoices[0].id], "客户招待")
        claim = services.submit_claim(session, draft.id)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert relay_once(lambda: Session(wired.engine), wired.app.state.adapter, now) == 1
    with wired.session() as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.claim_id == claim.id)).one()
        assert message.status == "delivered", message.last_error
        claim = session.get(Claim, claim.id)
    [record] = wired.emulator.store.by_doc_no(claim.doc_no)
    assert claim.oa_request_id == record.oa_id and claim.state is ClaimState.PENDING_APPROVAL
    return claim, record


def stored(wired: Wired, claim_id: int) -> Claim:
    with wired.session() as session:
        return session.get(Claim, claim_id)


def audit_count(wired: Wired, claim_id: int) -> int:
    with wired.session() as session:
        return len(session.exec(select(AuditLog).where(AuditLog.claim_id == claim_id)).all())


def test_final_decision_moves_the_claim_and_repeats_late_and_stale_callbacks_do_not(wired, storage_dir, make_pdf):
    claim, record = submitted_and_relayed(wired, storage_dir, make_pdf)
    open_status = [raw for raw, normal in wired.harness.statuses if normal == "pending"]
    if open_status:  # an interim status: recorded, the claim keeps waiting
        assert wired.emulator.decide(record.oa_id, open_status[0])
        assert stored(wired, claim.id).state is ClaimState.PENDING_APPROVAL

    assert wired.emulator.decide(record.oa_id, wired.raw("approved"))  # the OA acknowledged our reply
    after = stored(wired, claim.id)
    assert (after.state, after.oa_status, after.oa_request_id) == (ClaimState.APPROVED, "approved", record.oa_id)
    notes = audit_count(wired, claim.id)

    duplicate = wired.send(wired.emulator.build_callback(record))
    assert duplicate.status_code == 200
    if open_status:  # out of order: an older "still pending" arriving after the decision
        stale = wired.send(wired.emulator.build_callback(dataclasses.replace(record, status=open_status[0])))
        assert stale.status_code == 200
    assert stored(wired, claim.id).state is ClaimState.APPROVED and audit_count(wired, claim.id) == notes

    late = wired.send(wired.emulator.build_callback(dataclasses.replace(record, status=wired.raw("rejected"))))
    assert late.status_code == 200
    assert stored(wired, claim.id).state is ClaimState.APPROVED
    assert audit_count(wired, claim.id) == notes + 1  # the contradiction is noted, not applied
    assert wired.emulator.store.count(claim.doc_no) == 1


def test_rejection_releases_and_is_final(wired, storage_dir, make_pdf):
    claim, record = submitted_and_relayed(wired, storage_dir, make_pdf)
    assert wired.emulator.decide(record.oa_id, wired.raw("rejected"))
    assert stored(wired, claim.id).state is ClaimState.REJECTED
    assert wired.emulator.decide(record.oa_id, wired.raw("approved"))  # late: acknowledged, ignored
    assert stored(wired, claim.id).state is ClaimState.REJECTED


def test_forged_callbacks_are_refused(wired, storage_dir, make_pdf):
    claim, record = submitted_and_relayed(wired, storage_dir, make_pdf)
    forged = wired.harness.forged(dataclasses.replace(record, status=wired.raw("approved")))
    response = wired.send(forged)
    assert response.status_code == 401 and response.json()["code"] == "callback_rejected"
    assert stored(wired, claim.id).state is ClaimState.PENDING_APPROVAL


def test_callbacks_counted_for_prometheus(wired, storage_dir, make_pdf):
    _, record = submitted_and_relayed(wired, storage_dir, make_pdf)
    wired.emulator.decide(record.oa_id, wired.raw("approved"))
    wired.send(wired.emulator.build_callback(record))
    text = httpx.get(wired.app_url + "/metrics").text
    label = f'adapter="{adapter_name(wired.name)}"'
    assert f'reimburse_oa_callbacks_total{{{label},outcome="applied"}} 1.0' in text
    assert f'reimburse_oa_callbacks_total{{{label},outcome="duplicate"}} 1.0' in text


@pytest.mark.parametrize("wired", ["wecom"], indirect=True)
def test_wecom_url_check_is_echoed(wired):
    check = wired.emulator.url_check(b"5927782489442352469")
    response = wired.send(check)
    assert response.status_code == 200 and response.content == b"5927782489442352469"


@pytest.mark.parametrize("wired", ["feishu"], indirect=True)
def test_feishu_challenge_is_answered(wired):
    response = wired.send(wired.emulator.url_check())
    assert response.status_code == 200 and response.json() == {"challenge": "ajls384kdjx98XX"}


@pytest.mark.parametrize("wired", ["dingtalk", "wecom"], indirect=True)
def test_a_callback_naming_only_an_unknown_oa_id_is_not_found_so_the_oa_retries(wired):
    record = Record("UNKNOWN-1", None, {}, wired.raw("approved"), creator="zhangsan",
                    extra={"title": "t", "bid": "1", "nodes": []})
    wired.emulator.store.add(record)
    response = wired.send(wired.emulator.build_callback(record))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("wired", ["wecom", "feishu"], indirect=True)
def test_paid_deleted_and_reverted_are_final_for_the_claim(wired, storage_dir, make_pdf):
    expected = {"paid": ClaimState.APPROVED, "deleted": ClaimState.WITHDRAWN, "reverted": ClaimState.WITHDRAWN}
    outcomes = {}
    for n, (raw, normal) in enumerate((r, n) for r, n in wired.harness.statuses if n in expected):
        claim, record = submitted_and_relayed(wired, storage_dir, make_pdf, number=f"2642200000012345{n:04d}")
        assert wired.emulator.decide(record.oa_id, raw)
        after = stored(wired, claim.id)
        outcomes[normal] = (after.state, after.oa_status)
    assert outcomes == {normal: (expected[normal], normal) for normal in outcomes} and outcomes
