"""Reconciliation against the emulators over loopback HTTP: lost callbacks are made up by polling the OA's status,
missing OA ids are found by look-up, Seeyon's "already there" without an id is delivered without a second
document, and nothing is asked before it is due."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from api import services
from api.app import create_app
from api.cli import main
from api.metrics import OaMetrics
from api.oa_config import build_adapter
from api.reconcile import Reconciler
from api.relay import RetryPolicy, relay_once
from api.settings import get_settings
from api.tables import AuditLog, Claim, OutboxMessage
from oa_emulators.core import Fault
from oa_emulators.harness import SAMPLES, build_harness
from oa_emulators.settings import adapter_options, api_settings
from pipeline.claim import ClaimState

NUMBER = "26422000000123456789"


class Oa:
    def __init__(self, name, url, harness, adapter, session_factory):
        self.name, self.url, self.harness, self.adapter = name, url, harness, adapter
        self.session_factory = session_factory
        self.emulator = harness.emulator

    def raw(self, wanted: str) -> str:
        return next(raw for raw, normal in self.harness.statuses if normal == wanted)

    def claim(self, claim_id: int) -> Claim:
        with self.session_factory() as session:
            return session.get(Claim, claim_id)

    def notes(self, claim_id: int, actor: str) -> list[str]:
        with self.session_factory() as session:
            return [a.detail for a in session.exec(select(AuditLog).where(AuditLog.claim_id == claim_id,
                                                                           AuditLog.actor == actor))]


@pytest.fixture
def oa_for(serve, session_factory, storage_dir, org):
    """``oa_for(name)``: that emulator served on loopback and the adapter the settings build for it."""
    with ExitStack() as stack:
        def start(name: str, timeout: float = 5.0) -> Oa:
            harness = build_harness(name)
            url = stack.enter_context(serve(harness.emulator.app))
            adapter = build_adapter(api_settings(name, harness.emulator, url, storage_dir=storage_dir,
                                                 oa_timeout_seconds=timeout))
            stack.callback(adapter.close)
            return Oa(name, url, harness, adapter, session_factory)

        yield start


def submit(session_factory, storage_dir, make_pdf, number: str = NUMBER) -> Claim:
    with session_factory() as session:
        [upload] = services.upload_files(session, "E001", [(f"{number}.pdf", make_pdf(number))],
                                         storage_dir=storage_dir)
        draft = services.create_claim(session, "E001", [upload.invoices[0].id], "客户招待")
        return services.submit_claim(session, draft.id)


def later(minutes: float = 0) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes, seconds=1)


@pytest.mark.parametrize("name", ["weaver", "landray", "dingtalk", "wecom", "feishu"])
def test_a_lost_callback_is_made_up_by_polling(name, oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for(name)
    claim = submit(session_factory, storage_dir, make_pdf)
    assert relay_once(session_factory, oa.adapter, later()) == 1
    record = oa.emulator.store.by_doc_no(claim.doc_no)[0]
    oa.emulator.decide(record.oa_id, oa.raw("rejected"), callback=False)  # the OA never tells us

    metrics = OaMetrics(name)
    reconciler = Reconciler(session_factory, oa.adapter, after=timedelta(minutes=30), metrics=metrics)
    early = reconciler.run_once(later())
    assert early.polled == 0 and oa.claim(claim.id).state is ClaimState.PENDING_APPROVAL  # not due yet

    report = reconciler.run_once(later(31))
    assert (report.polled, report.decided, report.errors) == (1, 1, 0)
    after = oa.claim(claim.id)
    assert (after.state, after.oa_status, after.oa_request_id) == (ClaimState.REJECTED, "rejected", record.oa_id)
    assert metrics.value("reimburse_oa_reconciled_total", action="decided") == 1
    assert reconciler.run_once(later(31)).polled == 0  # decided claims are not asked about again


def test_failed_status_calls_are_tried_on_the_next_pass_and_open_statuses_only_recorded(
        oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for("weaver")
    claim = submit(session_factory, storage_dir, make_pdf)
    relay_once(session_factory, oa.adapter, later())
    record = oa.emulator.store.by_doc_no(claim.doc_no)[0]
    reconciler = Reconciler(session_factory, oa.adapter, after=timedelta(0))
    open_pass = reconciler.run_once(later())
    assert (open_pass.polled, open_pass.updated, open_pass.decided) == (1, 1, 0)
    assert oa.claim(claim.id).state is ClaimState.PENDING_APPROVAL

    oa.emulator.decide(record.oa_id, oa.raw("approved"), callback=False)
    oa.emulator.faults.push("status", Fault("error"))
    failed = reconciler.run_once(later())
    assert (failed.errors, failed.decided) == (1, 0)
    assert reconciler.run_once(later()).decided == 1
    assert oa.claim(claim.id).state is ClaimState.APPROVED
    assert oa.notes(claim.id, "reconcile") == [None]  # the move itself, by the reconciler


def test_a_missing_oa_id_is_found_by_look_up(oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for("weaver")
    claim = submit(session_factory, storage_dir, make_pdf)
    relay_once(session_factory, oa.adapter, later())
    record = oa.emulator.store.by_doc_no(claim.doc_no)[0]
    with session_factory() as session:  # as if the OA had said "already there" without naming the request
        session.exec(update(Claim).where(col(Claim.id) == claim.id).values(oa_request_id=None))
        session.commit()
    oa.emulator.decide(record.oa_id, oa.raw("approved"), callback=False)
    report = Reconciler(session_factory, oa.adapter, after=timedelta(0)).run_all(later())
    assert (report.looked_up, report.ids_found, report.decided) == (1, 1, 1)
    after = oa.claim(claim.id)
    assert (after.oa_request_id, after.state) == (record.oa_id, ClaimState.APPROVED)
    assert any("found by look-up" in (n or "") for n in oa.notes(claim.id, "reconcile"))
    assert oa.emulator.store.count(claim.doc_no) == 1


def test_seeyon_already_there_without_an_id_is_delivered_once_and_the_callback_brings_the_id(
        oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for("seeyon", timeout=1.5)
    claim = submit(session_factory, storage_dir, make_pdf)
    oa.emulator.faults.push("create", Fault("timeout", after_commit=True, delay=3.0))  # created; answer lost
    retry = RetryPolicy(base_seconds=0.01)
    assert relay_once(session_factory, oa.adapter, later(), retry=retry) == 1
    assert relay_once(session_factory, oa.adapter, later(1), retry=retry) == 1
    with session_factory() as session:
        message = session.exec(select(OutboxMessage)).one()
    assert (message.status, message.attempts) == ("delivered", 2)
    assert oa.emulator.store.count(claim.doc_no) == 1 and oa.claim(claim.id).oa_request_id is None
    assert any("gave no id" in (n or "") for n in oa.notes(claim.id, "relay"))

    report = Reconciler(session_factory, oa.adapter, after=timedelta(0)).run_all(later(1))
    assert (report.looked_up, report.unknown, report.ids_found) == (1, 1, 0)  # Seeyon cannot be searched

    record = oa.emulator.store.by_doc_no(claim.doc_no)[0]
    decision = oa.adapter.parse_callback(*_hook(oa, record, oa.raw("approved")))
    with session_factory() as session:
        services.apply_oa_decision(session, decision)
    after = oa.claim(claim.id)
    assert (after.state, after.oa_request_id) == (ClaimState.APPROVED, record.oa_id)


def _hook(oa: Oa, record, raw: str):
    record.status = raw
    outgoing = oa.emulator.build_callback(record)
    return outgoing.headers, outgoing.body


def test_adapters_without_a_status_api_are_reported_unknown(oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for("generic_webhook")
    claim = submit(session_factory, storage_dir, make_pdf)
    relay_once(session_factory, oa.adapter, later())
    report = Reconciler(session_factory, oa.adapter, after=timedelta(0)).run_all(later())
    assert (report.polled, report.unknown, report.decided) == (1, 1, 0)
    assert oa.claim(claim.id).state is ClaimState.PENDING_APPROVAL


def test_batches_walk_round_the_backlog(oa_for, session_factory, storage_dir, make_pdf):
    oa = oa_for("weaver")
    claims = [submit(session_factory, storage_dir, make_pdf, f"2642200000012345{n:04d}") for n in range(5)]
    while relay_once(session_factory, oa.adapter, later()):
        pass
    for claim in claims:
        record = oa.emulator.store.by_doc_no(claim.doc_no)[0]
        oa.emulator.decide(record.oa_id, oa.raw("approved"), callback=False)
    reconciler = Reconciler(session_factory, oa.adapter, after=timedelta(0), batch_size=2, workers=2)
    first = reconciler.run_once(later())
    assert first.decided == 2 and first.full_batch
    assert reconciler.run_all(later()).decided == 3
    assert {oa.claim(c.id).state for c in claims} == {ClaimState.APPROVED}


def test_the_app_reconciles_in_the_background(serve, database_url, org, storage_dir, make_pdf, session_factory):
    """Relay and reconciliation threads started by the app's lifespan: a decision whose callback is lost still
    reaches the claim."""
    harness = build_harness("landray")
    with serve(harness.emulator.app) as oa_url:
        settings = api_settings("landray", harness.emulator, oa_url, database_url=database_url,
                                storage_dir=storage_dir, org_file=None, relay_enabled=True, relay_workers=2,
                                relay_poll_seconds=0.05, oa_reconcile_enabled=True, oa_reconcile_after_minutes=0,
                                oa_reconcile_interval_seconds=0.1)
        with serve(create_app(settings)):
            claim = submit(session_factory, storage_dir, make_pdf)
            record = wait_for(lambda: next(iter(harness.emulator.store.by_doc_no(claim.doc_no)), None))
            harness.emulator.decide(record.oa_id, "30", callback=False)  # 30 发布: approved
            wait_for(lambda: _state(session_factory, claim.id) is ClaimState.APPROVED)
    assert harness.emulator.store.count(claim.doc_no) == 1


def test_the_reconcile_and_check_commands(oa_for, session_factory, storage_dir, make_pdf, database_url,
                                          monkeypatch, capsys):
    oa = oa_for("weaver")
    claim = submit(session_factory, storage_dir, make_pdf)
    relay_once(session_factory, oa.adapter, later())
    oa.emulator.decide(oa.emulator.store.by_doc_no(claim.doc_no)[0].oa_id, oa.raw("approved"), callback=False)
    options = adapter_options("weaver", oa.emulator, oa.url)
    for key, value in {"REIMBURSE_DATABASE_URL": database_url, "REIMBURSE_OA_ADAPTER": "weaver",
                       "REIMBURSE_OA_OPTIONS": json.dumps(options), "REIMBURSE_STORAGE_DIR": str(storage_dir),
                       "REIMBURSE_OA_MAPPING_FILE": str(SAMPLES / "weaver.yaml")}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert main(["oa", "check"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["adapter"] == "weaver" and shown["configured"] and shown["options"]["callback_secret"] == "***"
        assert main(["oa", "reconcile", "--after-minutes", "0"]) == 0
        assert json.loads(capsys.readouterr().out)["decided"] == 1
        assert oa.claim(claim.id).state is ClaimState.APPROVED
        monkeypatch.setenv("REIMBURSE_OA_OPTIONS", json.dumps({**options, "user_id": ""}))
        get_settings.cache_clear()
        assert main(["oa", "reconcile"]) == 2
        assert "needs option(s) ['user_id']" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def wait_for(probe, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _state(session_factory, claim_id):
    with session_factory() as session:
        return session.get(Claim, claim_id).state
