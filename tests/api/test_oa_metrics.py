"""Monitoring: the sync statistics on the API and the Prometheus exposition, one registry per app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from api import services
from api.app import create_app
from api.relay import RetryPolicy, relay_once
from api.settings import Settings
from api.tables import Claim
from pipeline.sync.base import DeliveryError, SubmitResult
from pipeline.sync.webhook import generate_secret


class FlakyOa:
    """Refuses the documents named in ``refuse`` for good, fails every first attempt, accepts the rest."""

    name = "flaky"

    def __init__(self, refuse: set[str]):
        self.refuse = refuse

    def submit(self, message):
        if message.payload["doc_no"] in self.refuse:
            raise DeliveryError("form refused", retryable=False)
        if message.attempt == 1:
            raise DeliveryError("HTTP 503")
        return SubmitResult(f"R-{message.payload['doc_no']}", "pending")


def app_settings(database_url, storage_dir) -> Settings:
    return Settings(database_url=database_url, storage_dir=storage_dir, org_file=None,
                    oa_webhook_url="http://127.0.0.1:9/unused", oa_webhook_secret=generate_secret())


def test_stats_and_metrics(database_url, storage_dir, session_factory, session, make_pdf):
    docs = []
    for n in range(4):
        number = f"2642200000000000000{n}"
        [upload] = services.upload_files(session, "E001", [(f"{n}.pdf", make_pdf(number))], storage_dir=storage_dir)
        claim = services.submit_claim(session, services.create_claim(session, "E001", [upload.invoices[0].id],
                                                                     "客户招待").id)
        docs.append(claim.doc_no)
    app = create_app(app_settings(database_url, storage_dir))
    other = create_app(app_settings(database_url, storage_dir))  # a second app: its own counters
    oa, now = FlakyOa({docs[0]}), datetime.now(UTC) + timedelta(seconds=1)
    retry = RetryPolicy(base_seconds=0.01)
    for step in range(3):
        relay_once(session_factory, oa, now + timedelta(minutes=step), retry=retry, metrics=app.state.metrics)
    with session_factory() as s:  # one delivered claim still waits for its OA id
        s.exec(update(Claim).where(col(Claim.doc_no) == docs[1]).values(oa_request_id=None))
        s.commit()
    with TestClient(app) as client:
        stats = client.get("/api/oa/stats").json()
        assert stats["outbox"] == {"pending": 0, "sending": 0, "delivered": 3, "dead": 1}
        assert (stats["success_rate"], stats["first_attempt_rate"], stats["mean_attempts_delivered"]) == (
            0.75, 0.0, 2.0)
        assert (stats["claims_waiting_for_oa"], stats["delivered_without_oa_id"]) == (4, 1)
        assert stats["process_counters"] == {"sent": 3, "deduplicated": 0, "failed": 4, "retried": 3, "dead": 1,
                                             "submit_calls": 7, "submit_seconds": stats["process_counters"]
                                             ["submit_seconds"]}
        text = client.get("/metrics").text
    assert 'reimburse_oa_sent_total{adapter="generic_webhook"} 3.0' in text
    assert 'reimburse_oa_failed_total{adapter="generic_webhook",kind="permanent"} 1.0' in text
    assert 'reimburse_oa_submit_seconds_count{adapter="generic_webhook",outcome="failed"} 4.0' in text
    assert 'reimburse_outbox_messages{status="dead"} 1.0' in text and "reimburse_oa_sync_success_ratio 0.75" in text
    with TestClient(other) as client:
        text = client.get("/metrics").text
        assert 'reimburse_oa_sent_total{adapter="generic_webhook"}' not in text
        assert 'reimburse_outbox_messages{status="delivered"} 3.0' in text  # the database is shared
